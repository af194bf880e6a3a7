// Package idp logs people in through a third-party identity provider, the
// way Brigade's API server did: OpenID Connect (any standard provider) or
// GitHub OAuth. The server starts a login with AuthURL, sends the person's
// browser there, and finishes it with Exchange when the provider sends the
// browser back to the server's callback with a code.
//
// Both flows use the authorization-code grant. OpenID Connect adds PKCE
// (S256) and a nonce bound into the signed ID token; the package verifies
// that token itself (RSA and ECDSA signatures from the provider's published
// keys, issuer, audience, expiry, nonce), with nothing but the standard
// library, so that the binary every worker starts stays small.
package idp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Identity is who logged in: ID is the user's id on this platform (the
// e-mail address for OpenID Connect, the login for GitHub) and Name what
// the provider calls them.
type Identity struct {
	ID   string
	Name string
}

// Login is what one login needs from the server: State travels through
// the provider and back and tells the server which session the callback
// completes; Verifier (PKCE) and Nonce stay with the server, which may
// derive them from State and a secret of its own instead of storing them
// (see Derive).
type Login struct {
	State    string
	Verifier string
	Nonce    string
}

// Provider is an identity provider.
type Provider interface {
	// Name is "oidc" or "github", for logs and messages.
	Name() string
	// AuthURL is where to send the browser to start the login.
	AuthURL(ctx context.Context, l Login) (string, error)
	// Exchange finishes the login with the code the provider sent back.
	Exchange(ctx context.Context, l Login, code string) (Identity, error)
}

// Error is a login the provider or its answer refused: the person may try
// again, but the server is not at fault (an expired code, a token that does
// not verify, a GitHub account outside the allowed organisations).
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func refuse(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// IsRefusal reports whether err is an *Error.
func IsRefusal(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// Derive makes the PKCE verifier and the nonce of a login from its state
// and a server secret, so that neither is stored: both are as secret as
// the key, and a state seen by anyone (it crosses the browser) gives away
// neither.
func Derive(key []byte, state string) Login {
	mac := func(label string) string {
		h := sha256.New()
		h.Write(key)
		h.Write([]byte{0})
		h.Write([]byte(label))
		h.Write([]byte{0})
		h.Write([]byte(state))
		return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	}
	// 43 characters of base64url: the shortest verifier RFC 7636 allows,
	// carrying all 256 bits.
	return Login{State: state, Verifier: mac("pkce-verifier"), Nonce: mac("oidc-nonce")}
}

// challenge is the S256 PKCE challenge of a verifier.
func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// maxBody bounds what is read from a provider.
const maxBody = 1 << 20

// httpClient is the client a provider uses when given none: providers must
// answer within a login's patience.
var httpClient = &http.Client{Timeout: 15 * time.Second}

// getJSON and friends read a provider's JSON answers; status errors quote
// the start of the body, which is where providers explain.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("the answer of %s is larger than %d bytes", resp.Request.URL.Redacted(), maxBody)
	}
	if resp.StatusCode/100 != 2 {
		return b, fmt.Errorf("%s answered %s: %s", resp.Request.URL.Redacted(), resp.Status, snippet(b))
	}
	return b, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
