package generic

import (
	"strings"
	"testing"
)

func TestMatches(t *testing.T) {
	for path, want := range map[string]bool{
		"/simpleevents/v1/p/s": true, "/simpleevents/v1/p/s/": false, "/simpleevents/v1/p": false,
		"/simpleevents/v1//s": false, "/simpleevents/v1/p/s/x": false, "/simpleevents/v2/p/s": false,
	} {
		if got := matches(path, "simpleevents", "v1"); got != want {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
}

func TestProjectIDShape(t *testing.T) {
	for id, want := range map[string]bool{
		"abc": true, "hello-world": true, "a1b": true, strings.Repeat("a", 63): true,
		"ab": false, "1ab": false, "abc-": false, "Abc": false, "a_b": false, "a/b": false, "..": false,
		strings.Repeat("a", 64): false,
	} {
		if got := projectIDShape(id); got != want {
			t.Errorf("%q: %v, want %v", id, got, want)
		}
	}
}
