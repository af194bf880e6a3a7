package github

import (
	"slices"
	"testing"
)

// FuzzMapDelivery feeds arbitrary payloads, under every event name the
// gateway handles, to the mapping from a delivery to events: it maps or
// refuses, never panics, and every event it makes has a key of its own.
func FuzzMapDelivery(f *testing.F) {
	names := make([]string, 0, len(handled))
	for n := range handled {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, s := range []string{
		`{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567","repository":{"full_name":"o/r","name":"r","owner":{"login":"o"}}}`,
		`{"action":"opened","pull_request":{"head":{"sha":"abc","ref":"x"},"title":"t"},"repository":{"full_name":"o/r"}}`,
		`{"action":"added","repositories_added":[{"full_name":"o/a"},{"full_name":"bad name"}]}`,
		`{"check_suite":{"head_sha":"zz"}}`, `null`, `[]`, `{"repository":{"full_name":1}}`, "\xff",
	} {
		f.Add([]byte(s), uint8(i))
	}
	f.Fuzz(func(t *testing.T, body []byte, k uint8) {
		d := delivery{name: names[int(k)%len(names)], hookID: "1", key: "delivery"}
		events, err := mapDelivery(d, body)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, e := range events {
			if seen[e.key] {
				t.Fatalf("two events of one delivery share the key %q", e.key)
			}
			seen[e.key] = true
		}
	})
}
