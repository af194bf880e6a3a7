package worker

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// emptyDir fails the test if dir holds anything.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(ents) > 0 {
		t.Fatalf("the worker wrote outside its folder, into %s: %v", dir, ents)
	}
}

func TestConfigFolderStaysInside(t *testing.T) {
	t.Run("TraversalIsRefused", func(t *testing.T) {
		base := t.TempDir()
		event := filepath.Join(base, "a", "b", "event")
		os.MkdirAll(event, 0o755)
		doc := baseDoc()
		doc.Worker.ConfigFilesDirectory = "../../../escaped-cfgdir"
		doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": `console.log("escaped")`}
		b, _ := json.Marshal(doc)
		os.WriteFile(filepath.Join(event, "event.json"), b, 0o600)
		var out bytes.Buffer
		code := Run(t.Context(), Options{EventFile: filepath.Join(event, "event.json"), Stdout: &out, Version: "test", APIOutage: testOutage})
		if code == 0 || !strings.Contains(out.String(), "configFilesDirectory") || strings.Contains(out.String(), "escaped\n") {
			t.Fatalf("exit %d:\n%s", code, out.String())
		}
		if _, err := os.Stat(filepath.Join(base, "a", "escaped-cfgdir")); err == nil {
			t.Fatal("the config folder was made outside the event's folder")
		}
	})
	t.Run("AbsoluteIsRefused", func(t *testing.T) {
		outside := t.TempDir()
		doc := baseDoc()
		doc.Worker.ConfigFilesDirectory = outside
		doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": `console.log("x")`}
		if code, out := runWorker(t, doc); code == 0 || !strings.Contains(out, "leaves the event's source folder") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		emptyDir(t, outside)
	})
	t.Run("SourceItselfAndFoldersBelow", func(t *testing.T) {
		src := t.TempDir()
		for rel, want := range map[string]string{"": src, ".": src, "a/b": filepath.Join(src, "a", "b"), "./c/": filepath.Join(src, "c")} {
			root, got, err := configDir(src, rel, &logWriter{})
			if err == nil {
				root.Close()
			}
			if err != nil || got != want {
				t.Errorf("configDir(%q) = %q, %v; want %q", rel, got, err, want)
			}
			if fi, err := os.Stat(want); err != nil || !fi.IsDir() {
				t.Errorf("%s was not made: %v", want, err)
			}
		}
	})
	t.Run("AMissingFolderIsSaidAtDebug", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "event", "source")
		other := filepath.Join(t.TempDir(), "source")
		for _, c := range []struct {
			src, rel string
			said     bool
		}{{src, ".brigade", true}, {src, ".brigade", false}, {src, "a/b", true}, {src, ".", false}, {other, ".", true}} {
			var out bytes.Buffer
			root, dir, err := configDir(c.src, c.rel, &logWriter{out: &out, level: "DEBUG"})
			if err != nil {
				t.Fatal(err)
			}
			root.Close()
			if said := strings.Contains(out.String(), "path "+dir+" does not exist; creating it"); said != c.said {
				t.Errorf("%s in %s: logged %q; want the line: %v", c.rel, c.src, out.String(), c.said)
			}
		}
	})
	t.Run("SymlinkedFolderIsRefused", func(t *testing.T) {
		src, outside := t.TempDir(), t.TempDir()
		if err := os.Symlink(outside, filepath.Join(src, "cfg")); err != nil {
			t.Skip("no symlinks here:", err)
		}
		if _, _, err := configDir(src, "cfg/inner", &logWriter{}); err == nil {
			t.Fatal("a config folder through a link out of the source folder was accepted")
		}
		emptyDir(t, outside)
	})
}

func TestConfigFilesAreNotWrittenThroughLinks(t *testing.T) {
	w := &logWriter{out: &bytes.Buffer{}, level: "DEBUG"}
	for name, write := range map[string]func(root *os.Root, dir string, files map[string]string, w *logWriter) error{
		"Defaults": writeDefaults, "EventFiles": writeEventFiles,
	} {
		t.Run(name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			if err := os.Symlink(outside, filepath.Join(dir, "lib")); err != nil {
				t.Skip("no symlinks here:", err)
			}
			if err := write(openRoot(t, dir), dir, map[string]string{"lib/util.js": "x"}, w); err == nil {
				t.Fatal("a file was accepted through a link out of the config folder")
			}
			emptyDir(t, outside)
		})
	}
}

// A checkout's links out of the checkout are removed before the worker
// writes its config files; links inside it stay.
func TestCheckoutLinksOutAreRemoved(t *testing.T) {
	repo, _ := gitRepo(t, `console.log("from git")`)
	outside := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "HOME="+repo)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	links := map[string]string{
		".brigade/brigade.json": filepath.Join(outside, "brigade.json"), // absolute, dangling
		".brigade/lib":          "../../../../../../../../" + outside,   // relative, climbing out
		".brigade/same.js":      "brigade.js",                           // inside: kept
	}
	for at, to := range links {
		if err := os.Symlink(to, filepath.Join(repo, at)); err != nil {
			t.Skip("no symlinks here:", err)
		}
	}
	git("add", ".")
	git("commit", "-q", "-m", "links")
	doc := baseDoc()
	doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Ref: "refs/heads/main"}
	doc.Worker.DefaultConfigFiles = map[string]string{"brigade.json": `{"x":1}`, "lib/util.js": "x"}
	serveVCSLog(t, doc)
	dir := t.TempDir()
	b, _ := json.Marshal(doc)
	os.WriteFile(filepath.Join(dir, "event.json"), b, 0o600)
	var out bytes.Buffer
	code := Run(t.Context(), Options{EventFile: filepath.Join(dir, "event.json"), Stdout: &out, Version: "test", APIOutage: testOutage})
	if code != 0 || !strings.Contains(out.String(), "from git") ||
		strings.Count(out.String(), "leads out of the source folder") != 2 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	emptyDir(t, outside)
	cfg := filepath.Join(dir, "source", ".brigade")
	if fi, err := os.Lstat(filepath.Join(cfg, "same.js")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link inside the checkout was not kept: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(cfg, "brigade.json")); string(got) != `{"x":1}` {
		t.Fatalf("brigade.json = %q", got)
	}
}

// openRoot opens dir as an os.Root, closed when the test ends.
func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}
