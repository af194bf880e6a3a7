package worker

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestEventConfigFiles covers worker.configFiles (`brig exec -f`): written
// last, over git and defaults.
func TestEventConfigFiles(t *testing.T) {
	t.Run("WinOverGitAndDefaults", func(t *testing.T) {
		repo, _ := gitRepo(t, `console.log("from git")`)
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Ref: "refs/heads/main"}
		doc.Worker.DefaultConfigFiles = map[string]string{"brigade.ts": `console.log("from defaults")`}
		doc.Worker.ConfigFiles = map[string]string{"brigade.js": `console.log("from the event")`}
		serveVCSLog(t, doc)
		code, out := runWorker(t, doc)
		if code != 0 || !strings.Contains(out, "from the event") || strings.Contains(out, "from git") ||
			strings.Contains(out, "from defaults") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}

func TestWriteEventFiles(t *testing.T) {
	write := func(t *testing.T, dir, name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(t *testing.T, dir, name string) (string, bool) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(b), true
	}
	w := &logWriter{out: &bytes.Buffer{}, level: "DEBUG"}

	t.Run("OverwriteAndRemoveTheOtherScript", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "brigade.ts", "from git")
		write(t, dir, "brigade.json", "{}")
		write(t, dir, "keep.txt", "kept")
		err := writeEventFiles(openRoot(t, dir), dir, map[string]string{
			"brigade.js": "mine", "brigade.json": `{"a":1}`, "lib/util.js": "util",
		}, w)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := read(t, dir, "brigade.ts"); ok {
			t.Fatal("brigade.ts was kept, so it would run instead of the event's brigade.js")
		}
		for name, want := range map[string]string{
			"brigade.js": "mine", "brigade.json": `{"a":1}`, "lib/util.js": "util", "keep.txt": "kept",
		} {
			if got, _ := read(t, dir, name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
	})
	t.Run("TypeScriptRemovesJavaScript", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "brigade.js", "default")
		if err := writeEventFiles(openRoot(t, dir), dir, map[string]string{"brigade.ts": "mine"}, w); err != nil {
			t.Fatal(err)
		}
		if _, ok := read(t, dir, "brigade.js"); ok {
			t.Fatal("brigade.js was kept")
		}
	})
	t.Run("ReplacesASymlinkInsteadOfWritingThroughIt", func(t *testing.T) {
		dir, outside := t.TempDir(), filepath.Join(t.TempDir(), "target")
		write(t, filepath.Dir(outside), "target", "untouched")
		if err := os.Symlink(outside, filepath.Join(dir, "brigade.js")); err != nil {
			t.Skip("no symlinks here:", err)
		}
		if err := writeEventFiles(openRoot(t, dir), dir, map[string]string{"brigade.js": "mine"}, w); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(outside); string(b) != "untouched" {
			t.Fatalf("wrote through the link: %q", b)
		}
		if got, _ := read(t, dir, "brigade.js"); got != "mine" {
			t.Fatalf("brigade.js = %q", got)
		}
	})
	t.Run("NamesThatLeaveTheFolderAreRefused", func(t *testing.T) {
		for _, name := range []string{"../x.js", "/etc/x", "a/../../x", ".."} {
			tmp := t.TempDir()
			err := writeEventFiles(openRoot(t, tmp), tmp, map[string]string{name: "x"}, w)
			if err == nil || !strings.Contains(err.Error(), "leaves the config folder") {
				t.Errorf("%q: %v", name, err)
			}
		}
	})
}
