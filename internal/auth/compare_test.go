package auth

import "testing"

func TestEqual(t *testing.T) {
	for _, c := range []struct {
		got, want string
		eq        bool
	}{
		{"abc", "abc", true}, {"abc", "abd", false}, {"ab", "abc", false}, {"", "", false}, {"x", "", false},
	} {
		if Equal(c.got, c.want) != c.eq {
			t.Errorf("Equal(%q, %q) = %v", c.got, c.want, !c.eq)
		}
	}
}
