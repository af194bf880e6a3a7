package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lookPath remembers where it found a bare name, as a shell's hash table
// does, and searches again once that file is gone.
func TestLookPathRemembersUntilTheFileIsGone(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	path := first + string(os.PathListSeparator) + second
	tool := func(dir string) string {
		p := filepath.Join(dir, "brigade-test-tool")
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inSecond := tool(second)
	if got, err := lookPath("brigade-test-tool", path, "/"); err != nil || got != inSecond {
		t.Fatalf("lookPath = %q, %v; want %q", got, err, inSecond)
	}
	inFirst := tool(first) // earlier on the PATH, but the name is known
	if got, err := lookPath("brigade-test-tool", path, "/"); err != nil || got != inSecond {
		t.Fatalf("lookPath = %q, %v; want the remembered %q", got, err, inSecond)
	}
	if err := os.Remove(inSecond); err != nil {
		t.Fatal(err)
	}
	if got, err := lookPath("brigade-test-tool", path, "/"); err != nil || got != inFirst {
		t.Fatalf("lookPath = %q, %v; want %q once the remembered one is gone", got, err, inFirst)
	}
	if err := os.Remove(inFirst); err != nil {
		t.Fatal(err)
	}
	if _, err := lookPath("brigade-test-tool", path, "/"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("lookPath of a name gone from the PATH: %v, want not found", err)
	}
}

func TestMergeEnvLaterWins(t *testing.T) {
	got := mergeEnv([]string{"A=1", "B=2", "A=3", "C"}, map[string]string{"B": "x", "D": "4"}, nil, map[string]string{"D": "5"})
	want := []string{"A=3", "B=x", "C=", "D=5"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("mergeEnv = %v, want %v", got, want)
	}
}
