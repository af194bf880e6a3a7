package core

import (
	"strings"
	"testing"
)

func TestSafeName(t *testing.T) {
	for name, want := range map[string]bool{
		"e1": true, "build-and-test": true, "a_b.c": true, "0": true, strings.Repeat("x", 253): true,
		"": false, "-x": false, ".x": false, "_x": false, "a/b": false, "a b": false, "é": false,
		strings.Repeat("x", 254): false,
	} {
		if got := SafeName(name); got != want {
			t.Errorf("SafeName(%q) = %v, want %v", name, got, want)
		}
	}
}
