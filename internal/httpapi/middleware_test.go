package httpapi

import (
	"path"
	"testing"
)

// TestIsClean: isClean says yes only where path.Clean changes nothing.
func TestIsClean(t *testing.T) {
	paths := []string{
		"/v2/events", "/v2/events/", "//v2/events", "/v2//events", "/v2/./events", "/v2/../events",
		"/v2/events/.", "/v2/events/..", "/.well-known", "/v2/a.b/c..d", "v2/events", "/", "/a", "/a/",
		"/v2/events/abc/worker/jobs/j1/start", "/...", "/a/...b",
	}
	for _, p := range paths {
		if isClean(p) && path.Clean(p) != p {
			t.Errorf("isClean(%q) but path.Clean gives %q", p, path.Clean(p))
		}
	}
	for _, p := range []string{"/v2/events", "/v2/events/abc/worker/jobs/j1/start", "/a"} {
		if !isClean(p) {
			t.Errorf("isClean(%q) = false for a clean path", p)
		}
	}
}

func FuzzIsClean(f *testing.F) {
	f.Add("/v2/events")
	f.Add("//a/./b/../c/")
	f.Fuzz(func(t *testing.T, p string) {
		if isClean(p) && path.Clean(p) != p {
			t.Fatalf("isClean(%q) but path.Clean gives %q", p, path.Clean(p))
		}
	})
}
