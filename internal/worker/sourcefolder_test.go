package worker

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestEmptySourceFolderIsUsed: the local substrate reuses event folders,
// so source/ may already exist, empty, when the worker starts. The clone,
// the checkout of a commit and the default config files all go into it.
func TestEmptySourceFolderIsUsed(t *testing.T) {
	run := func(t *testing.T, doc *core.EventDocument) (int, string, string) {
		t.Helper()
		dir := t.TempDir()
		src := filepath.Join(dir, "source")
		if err := os.Mkdir(src, 0o750); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(doc)
		file := filepath.Join(dir, "event.json")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		code := Run(t.Context(), Options{EventFile: file, Stdout: &out, Version: "test", APIOutage: testOutage})
		return code, out.String(), src
	}
	t.Run("Clone", func(t *testing.T) {
		repo, _ := gitRepo(t, `console.log("cloned into the folder")`)
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Ref: "refs/heads/main"}
		serveVCSLog(t, doc)
		code, out, src := run(t, doc)
		if code != 0 || !strings.Contains(out, "cloned into the folder") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if _, err := os.Stat(filepath.Join(src, ".git")); err != nil {
			t.Errorf("the clone is not in the existing source folder: %v", err)
		}
	})
	t.Run("Commit", func(t *testing.T) {
		repo, commit := gitRepo(t, `console.log("at the commit")`)
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Commit: commit}
		serveVCSLog(t, doc)
		if code, out, _ := run(t, doc); code != 0 || !strings.Contains(out, "at the commit") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("DefaultConfigFiles", func(t *testing.T) {
		doc := baseDoc()
		doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": `console.log("from defaults")`}
		code, out, src := run(t, doc)
		if code != 0 || !strings.Contains(out, "from defaults") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if _, err := os.Stat(filepath.Join(src, ".brigade", "brigade.js")); err != nil {
			t.Errorf("the config files are not in the existing source folder: %v", err)
		}
	})
}
