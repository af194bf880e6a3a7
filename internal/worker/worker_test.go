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

// gitRepo makes a repository with .brigade/brigade.js on main and returns
// its path and the commit.
func gitRepo(t *testing.T, script string) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git program is not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(dir, ".brigade"), 0o755)
	os.WriteFile(filepath.Join(dir, ".brigade", "brigade.js"), []byte(script), 0o644)
	run("add", ".")
	run("commit", "-q", "-m", "script")
	return dir, run("rev-parse", "HEAD")
}

func runWorker(t *testing.T, doc *core.EventDocument) (int, string) {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.Marshal(doc)
	file := filepath.Join(dir, "event.json")
	os.WriteFile(file, b, 0o600)
	var out bytes.Buffer
	code := Run(t.Context(), Options{EventFile: file, Stdout: &out, Version: "test"})
	return code, out.String()
}

func baseDoc() *core.EventDocument {
	return &core.EventDocument{ID: "e1", Source: "brigade.sh/cli", Type: "exec",
		Project: core.EventDocProject{ID: "p1", Secrets: map[string]string{}},
		Worker: core.EventDocWorker{APIAddress: "http://127.0.0.1:1", APIToken: "t", LogLevel: "DEBUG",
			ConfigFilesDirectory: ".brigade"}}
}

func TestWorker(t *testing.T) {
	t.Run("DefaultConfigFilesRun", func(t *testing.T) {
		doc := baseDoc()
		doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": `console.log("from defaults")`}
		code, out := runWorker(t, doc)
		if code != 0 || !strings.Contains(out, "from defaults") || !strings.Contains(out, "brigade-worker version: test") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("GitFilesWinOverDefaults", func(t *testing.T) {
		repo, _ := gitRepo(t, `console.log("from git")`)
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Ref: "refs/heads/main"}
		doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": `console.log("from defaults")`}
		code, out := runWorker(t, doc)
		if code != 0 || !strings.Contains(out, "from git") || !strings.Contains(out, "refusing to overwrite") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("CommitCheckout", func(t *testing.T) {
		repo, commit := gitRepo(t, `console.log("at the commit")`)
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Commit: commit}
		if code, out := runWorker(t, doc); code != 0 || !strings.Contains(out, "at the commit") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("BadRefFailsWithGitsMessage", func(t *testing.T) {
		repo, _ := gitRepo(t, `console.log("x")`)
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Ref: "no-such-branch"}
		code, out := runWorker(t, doc)
		if code == 0 || !strings.Contains(out, "no-such-branch") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("NothingToRunFails", func(t *testing.T) {
		code, out := runWorker(t, baseDoc())
		if code == 0 {
			t.Fatalf("exit 0 with no script:\n%s", out)
		}
	})
	t.Run("ConfigFileNamesStayInTheFolder", func(t *testing.T) {
		doc := baseDoc()
		doc.Worker.DefaultConfigFiles = map[string]string{"../escape.js": "x"}
		if code, out := runWorker(t, doc); code == 0 || !strings.Contains(out, "leaves the config folder") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}
