package auth

import "crypto/subtle"

// Equal compares two secrets (tokens, token hashes, passwords) in time
// that depends on their lengths only, not on where they first differ, so
// that how long a refusal takes tells nothing about a secret. An empty
// want matches nothing.
func Equal(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
