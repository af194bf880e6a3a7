package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The server runs workers with the lean brigade-worker beside it only when
// that is the same build; otherwise, or when there is none, with its own
// `worker` command.
func TestWorkerCommand(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	exe := filepath.Join(dir, "brigade")
	lean := filepath.Join(dir, "brigade-worker")
	self := []string{exe, "worker"}
	fake := func(prints string, mode os.FileMode) {
		t.Helper()
		script := "#!/bin/sh\necho '" + prints + "'\n"
		if err := os.WriteFile(lean, []byte(script), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		setup func()
		want  []string
	}{
		{"NoneBeside", func() {}, self},
		{"SameBuild", func() { fake("brigade-worker v1.2.3 (commit abc)", 0o755) }, []string{lean}},
		{"AnotherBuild", func() { fake("brigade-worker v1.2.2 (commit abd)", 0o755) }, self},
		{"NotExecutable", func() { fake("brigade-worker v1.2.3 (commit abc)", 0o644) }, self},
		{"AFolder", func() {
			if err := os.Mkdir(lean, 0o755); err != nil {
				t.Fatal(err)
			}
		}, self},
	} {
		t.Run(c.name, func(t *testing.T) {
			_ = os.RemoveAll(lean)
			c.setup()
			if got := workerCommand(t.Context(), exe, "v1.2.3", "abc", log); !slices.Equal(got, c.want) {
				t.Fatalf("worker command %q, want %q", got, c.want)
			}
		})
	}
}
