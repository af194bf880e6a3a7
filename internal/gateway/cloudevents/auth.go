package cloudevents

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
)

// bearer is the request's token: `Authorization: Bearer <token>` (the
// scheme in any case), else the access_token query parameter, as the
// CloudEvents web-hook spec lets a sender choose.
func bearer(r *http.Request) string {
	if scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); ok &&
		strings.EqualFold(scheme, "Bearer") {
		if tok = strings.TrimSpace(tok); tok != "" {
			return tok
		}
	}
	return r.URL.Query().Get("access_token")
}

// How long, and for how many tokens, a token the API knew is trusted
// without asking again. Trusting it a little longer is harmless: events
// are created with the token, so the API still refuses a revoked one.
const (
	verifiedFor = 30 * time.Second
	maxVerified = 1024
)

// verifier checks senders' tokens with the API (GET /v2/whoami) before
// their bodies are parsed, and remembers the good ones briefly by their
// SHA-256, so that a busy sender costs one extra API call every
// verifiedFor rather than one per delivery.
type verifier struct {
	mu   sync.Mutex
	good map[[sha256.Size]byte]time.Time // until when
	now  func() time.Time
}

func newVerifier() *verifier {
	return &verifier{good: map[[sha256.Size]byte]time.Time{}, now: time.Now}
}

// verify returns nil if api's token, token, names a principal; else the
// API's error (an AuthenticationError for an unknown token).
func (v *verifier) verify(ctx context.Context, api *client.Client, token string) error {
	sum := sha256.Sum256([]byte(token))
	v.mu.Lock()
	until, ok := v.good[sum]
	v.mu.Unlock()
	if ok && v.now().Before(until) {
		return nil
	}
	if _, err := api.WhoAmI(ctx); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if len(v.good) >= maxVerified {
		for k, t := range v.good {
			if !now.Before(t) {
				delete(v.good, k)
			}
		}
	}
	if len(v.good) >= maxVerified {
		clear(v.good)
	}
	v.good[sum] = now.Add(verifiedFor)
	return nil
}

// handshake answers the abuse-protection handshake of the CloudEvents
// web-hook spec (an OPTIONS request, without a token): it grants every
// origin at once, at the rate asked for, or without a limit ("*") when
// none is asked for. A WebHook-Request-Callback is not called: the grant
// is given in the reply, which the spec lets a receiver choose, and an
// unauthenticated request never makes the gateway call a URL it names.
func handshake(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "OPTIONS, POST")
	origin := r.Header.Get("WebHook-Request-Origin")
	if origin == "" {
		w.WriteHeader(http.StatusOK) // not a handshake: just what is allowed here
		return
	}
	if len(origin) > 255 || strings.ContainsFunc(origin, func(c rune) bool { return c <= ' ' || c >= 0x7f }) {
		writeError(w, badRequest("WebHook-Request-Origin must be a host name such as eventemitter.example.com"))
		return
	}
	rate := "*"
	if asked := strings.TrimSpace(r.Header.Get("WebHook-Request-Rate")); asked != "" {
		if !positiveInteger(asked) {
			writeError(w, badRequest("WebHook-Request-Rate must be a positive number of requests per minute"))
			return
		}
		rate = asked
	}
	w.Header().Set("WebHook-Allowed-Origin", origin)
	w.Header().Set("WebHook-Allowed-Rate", rate)
	w.WriteHeader(http.StatusOK)
}

func positiveInteger(s string) bool {
	if len(s) > 9 || strings.Trim(s, "0") == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
