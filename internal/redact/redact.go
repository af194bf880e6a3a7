// Package redact hides secret values in log lines: every occurrence of a
// value, of each of its lines when it has several, and of its base64 forms
// (standard and URL alphabets, with and without padding) becomes "***".
//
// Lines are searched with a filter on their byte pairs: a bitmap of the
// first two bytes of every pattern says, for each position of a line,
// whether any pattern can start there, so a line that holds no secret costs
// one table lookup per byte and no allocation, whatever the number of
// secrets. Where the filter lets a position through, the patterns with
// those two first bytes are tried longest first, and the longest match is
// masked (so a padded base64 form is masked whole, "=" included).
//
// Values shorter than MinLen bytes are not redacted: masking every "on" or
// "42" in a log would make it unreadable and would tell a reader where the
// value occurs anyway.
package redact

import (
	"encoding/base64"
	"slices"
	"strings"
)

// MinLen is the shortest value (or line of a value, or base64 form) that
// is redacted.
const MinLen = 4

// Mask replaces each occurrence.
const Mask = "***"

// Redactor masks a fixed set of values. The nil Redactor masks nothing.
type Redactor struct {
	filter [1 << 16 / 64]uint64 // bit k: some pattern starts with the byte pair k
	byPair map[uint16][]string  // patterns by their first byte pair, longest first
}

// Forms are the strings that count as value: the value, each of its lines
// (without a trailing \r), and the base64 forms of each, those of MinLen
// bytes or more, without duplicates.
func Forms(value string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= MinLen && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	whole := func(s string) {
		if len(s) < MinLen {
			return
		}
		add(s)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString([]byte(s)))
		}
	}
	whole(value)
	if strings.Contains(value, "\n") {
		for line := range strings.SplitSeq(value, "\n") {
			whole(strings.TrimSuffix(line, "\r"))
		}
	}
	return out
}

// New makes a Redactor for values; nil when none of them is long enough.
func New(values []string) *Redactor {
	r := &Redactor{byPair: map[uint16][]string{}}
	for _, v := range values {
		for _, f := range Forms(v) {
			k := pair(f, 0)
			if !slices.Contains(r.byPair[k], f) {
				r.byPair[k] = append(r.byPair[k], f)
				r.filter[k>>6] |= 1 << (k & 63)
			}
		}
	}
	if len(r.byPair) == 0 {
		return nil
	}
	for _, ps := range r.byPair {
		slices.SortFunc(ps, func(a, b string) int { return len(b) - len(a) })
	}
	return r
}

func pair(s string, i int) uint16 { return uint16(s[i])<<8 | uint16(s[i+1]) }

// String returns s with every occurrence masked, and whether anything was.
// Occurrences are taken leftmost first, the longest at each position.
func (r *Redactor) String(s string) (string, bool) {
	if r == nil {
		return s, false
	}
	var (
		b    strings.Builder
		last int // s[:last] is in b
	)
	for i := 0; i+1 < len(s); i++ {
		k := pair(s, i)
		if r.filter[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, p := range r.byPair[k] {
			if strings.HasPrefix(s[i:], p) {
				if last == 0 && b.Len() == 0 {
					b.Grow(len(s))
				}
				b.WriteString(s[last:i])
				b.WriteString(Mask)
				last = i + len(p)
				i = last - 1
				break
			}
		}
	}
	if last == 0 && b.Len() == 0 {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}
