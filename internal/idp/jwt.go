package idp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// jwk is one key of a provider's key set (RFC 7517), RSA or EC.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// publicKey decodes the key; keys of kinds we do not verify with are nil.
func (k jwk) publicKey() (crypto.PublicKey, error) {
	if k.Use != "" && k.Use != "sig" {
		return nil, nil
	}
	switch k.Kty {
	case "RSA":
		n, err1 := b64Int(k.N)
		e, err2 := b64Int(k.E)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("RSA key %q: %w", k.Kid, err)
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || n.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key %q: unusable modulus or exponent (keys under 2048 bits are refused)", k.Kid)
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, nil
		}
		x, err1 := b64Int(k.X)
		y, err2 := b64Int(k.Y)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("EC key %q: %w", k.Kid, err)
		}
		// Uncompressed point: 0x04 || X || Y, each the curve's size.
		size := (curve.Params().BitSize + 7) / 8
		point := make([]byte, 1+2*size)
		point[0] = 4
		if len(x.Bytes()) > size || len(y.Bytes()) > size {
			return nil, fmt.Errorf("EC key %q: coordinates too long for %s", k.Kid, k.Crv)
		}
		x.FillBytes(point[1 : 1+size])
		y.FillBytes(point[1+size:])
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("EC key %q: %w", k.Kid, err)
		}
		return pub, nil
	}
	return nil, nil
}

func b64Int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) == 0 {
		return nil, errors.New("a number is not base64url")
	}
	return new(big.Int).SetBytes(b), nil
}

// algorithms are the signatures an ID token may carry: asymmetric ones
// only ("none" and the HMAC family, keyed with the client secret, are
// refused).
var algorithms = map[string]struct {
	hash crypto.Hash
	kind string // "rsa", "pss" or "ec"
}{
	"RS256": {crypto.SHA256, "rsa"}, "RS384": {crypto.SHA384, "rsa"}, "RS512": {crypto.SHA512, "rsa"},
	"PS256": {crypto.SHA256, "pss"}, "PS384": {crypto.SHA384, "pss"}, "PS512": {crypto.SHA512, "pss"},
	"ES256": {crypto.SHA256, "ec"}, "ES384": {crypto.SHA384, "ec"}, "ES512": {crypto.SHA512, "ec"},
}

// idClaims are the ID token's claims that a login uses.
type idClaims struct {
	Issuer        string   `json:"iss"`
	Audience      audience `json:"aud"`
	AuthorizedBy  string   `json:"azp"`
	Expires       *number  `json:"exp"`
	NotBefore     *number  `json:"nbf"`
	IssuedAt      *number  `json:"iat"`
	Nonce         string   `json:"nonce"`
	Subject       string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	Name          string   `json:"name"`
}

// audience is "aud": one string or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*a = list
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*a = audience{one}
	return nil
}

// number is a NumericDate (seconds, possibly fractional).
type number float64

func (n *number) time() time.Time {
	sec := float64(*n)
	return time.Unix(int64(sec), int64((sec-float64(int64(sec)))*1e9))
}

// skew is how far the provider's clock may be from ours.
const skew = 2 * time.Minute

// verifyIDToken checks an ID token's signature against keys (by kid, or
// each key when the token names none) and its claims, and returns them.
func verifyIDToken(token string, keys map[string]crypto.PublicKey, issuer, clientID, nonce string, now time.Time) (*idClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, refuse("the ID token is not a signed JWT (it has %d parts, not 3)", len(parts))
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, refuse("the ID token's header is not base64url")
	}
	var header struct {
		Alg  string `json:"alg"`
		Kid  string `json:"kid"`
		Crit any    `json:"crit"`
	}
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		return nil, refuse("the ID token's header is not JSON")
	}
	if header.Crit != nil {
		return nil, refuse("the ID token has critical header extensions, which this server does not understand")
	}
	alg, ok := algorithms[header.Alg]
	if !ok {
		return nil, refuse("the ID token is signed with %q; only RS*, PS* and ES* signatures are accepted", header.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, refuse("the ID token's signature is not base64url")
	}
	h := alg.hash.New()
	h.Write([]byte(parts[0] + "." + parts[1]))
	digest := h.Sum(nil)
	candidates := keys
	if header.Kid != "" {
		k, ok := keys[header.Kid]
		if !ok {
			return nil, errUnknownKey
		}
		candidates = map[string]crypto.PublicKey{header.Kid: k}
	}
	verified := false
	for _, k := range candidates {
		if verifySignature(alg.kind, alg.hash, k, digest, sig) {
			verified = true
			break
		}
	}
	if !verified {
		return nil, refuse("the ID token's signature does not verify with the provider's keys")
	}
	rawClaims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, refuse("the ID token's claims are not base64url")
	}
	var c idClaims
	if err := json.Unmarshal(rawClaims, &c); err != nil {
		return nil, refuse("the ID token's claims are not JSON: %v", err)
	}
	switch {
	case c.Issuer != issuer:
		return nil, refuse("the ID token was issued by %q, not by the configured provider %q", c.Issuer, issuer)
	case !contains(c.Audience, clientID):
		return nil, refuse("the ID token is meant for %q, not for this server's client id", strings.Join(c.Audience, ", "))
	case len(c.Audience) > 1 && c.AuthorizedBy != "" && c.AuthorizedBy != clientID:
		return nil, refuse("the ID token was obtained by another client (azp %q)", c.AuthorizedBy)
	case c.Expires == nil:
		return nil, refuse("the ID token has no expiry")
	case now.After(c.Expires.time().Add(skew)):
		return nil, refuse("the ID token expired at %s", c.Expires.time().UTC().Format(time.RFC3339))
	case c.NotBefore != nil && now.Add(skew).Before(c.NotBefore.time()):
		return nil, refuse("the ID token is not valid before %s", c.NotBefore.time().UTC().Format(time.RFC3339))
	case c.Nonce != nonce:
		return nil, refuse("the ID token's nonce does not match this login: it belongs to another one")
	}
	return &c, nil
}

// errUnknownKey says the token names a key the cached set lacks: the
// provider may have rotated its keys.
var errUnknownKey = refuse("the ID token is signed with a key the provider does not publish")

func verifySignature(kind string, hash crypto.Hash, key crypto.PublicKey, digest, sig []byte) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch kind {
		case "rsa":
			return rsa.VerifyPKCS1v15(k, hash, digest, sig) == nil
		case "pss":
			return rsa.VerifyPSS(k, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
	case *ecdsa.PublicKey:
		if kind != "ec" || curveHash[k.Curve.Params().Name] != hash {
			return false // ES256 goes with P-256, ES384 with P-384, ES512 with P-521
		}
		// JWS carries R || S, each the curve's size.
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}

var curveHash = map[string]crypto.Hash{"P-256": crypto.SHA256, "P-384": crypto.SHA384, "P-521": crypto.SHA512}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
