package npm

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Integrity is a Subresource Integrity value as npm and yarn record it:
// "sha512-<base64>", maybe several separated by spaces. Only the strongest
// algorithm present counts, as in npm.
type Integrity struct {
	Algo    string   // sha512, sha384, sha256 or sha1
	Digests [][]byte // any of them may match
}

// algoRank orders the algorithms from weakest to strongest.
var algoRank = map[string]int{"sha1": 1, "sha256": 2, "sha384": 3, "sha512": 4}

func newHash(algo string) hash.Hash {
	switch algo {
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	}
	return sha512.New()
}

// ParseIntegrity reads an SRI string. Unknown algorithms are skipped; it
// fails when none is left.
func ParseIntegrity(s string) (Integrity, error) {
	var in Integrity
	for _, f := range strings.Fields(s) {
		algo, b64, ok := strings.Cut(f, "-")
		if !ok || algoRank[algo] == 0 {
			continue
		}
		b64, _, _ = strings.Cut(b64, "?") // SRI options
		d, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(d) != newHash(algo).Size() {
			return Integrity{}, fmt.Errorf("integrity %q: the %s digest is not valid base64 of the right length", s, algo)
		}
		switch {
		case algoRank[algo] > algoRank[in.Algo]:
			in = Integrity{Algo: algo, Digests: [][]byte{d}}
		case algo == in.Algo:
			in.Digests = append(in.Digests, d)
		}
	}
	if in.Algo == "" {
		return Integrity{}, fmt.Errorf("integrity %q names no sha512, sha384, sha256 or sha1 digest", s)
	}
	return in, nil
}

// integrityFromSHA1Hex makes an Integrity of a hex sha1 (the registry's
// dist.shasum, or the "#<sha1>" at the end of an old yarn.lock URL).
func integrityFromSHA1Hex(h string) (Integrity, bool) {
	d, err := hex.DecodeString(h)
	if err != nil || len(d) != sha1.Size {
		return Integrity{}, false
	}
	return Integrity{Algo: "sha1", Digests: [][]byte{d}}, true
}

// IsZero reports whether nothing is known.
func (in Integrity) IsZero() bool { return in.Algo == "" }

// String renders the first digest in SRI form.
func (in Integrity) String() string {
	if in.IsZero() {
		return ""
	}
	return in.Algo + "-" + base64.StdEncoding.EncodeToString(in.Digests[0])
}

// key names a cache file: the algorithm and the first digest in hex.
func (in Integrity) key() string {
	return in.Algo + "-" + hex.EncodeToString(in.Digests[0])
}

// Check verifies data against the digest.
func (in Integrity) Check(data []byte) error {
	if in.IsZero() {
		return nil
	}
	h := newHash(in.Algo)
	h.Write(data)
	sum := h.Sum(nil)
	for _, d := range in.Digests {
		if string(d) == string(sum) {
			return nil
		}
	}
	return fmt.Errorf("integrity check failed: expected %s, got %s-%s", in.String(), in.Algo,
		base64.StdEncoding.EncodeToString(sum))
}

// sha512Of is the SRI sha512 of data (for packages recorded without one).
func sha512Of(data []byte) Integrity {
	s := sha512.Sum512(data)
	return Integrity{Algo: "sha512", Digests: [][]byte{s[:]}}
}
