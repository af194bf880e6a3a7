package worker

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// gitRepo makes a repository with .brigade/brigade.js on main and returns
// its path and the commit.
func gitRepo(t *testing.T, script string) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("BRIGADE_TEST_GIT") != "" {
			t.Fatalf("BRIGADE_TEST_GIT is set but git is not installed: %v", err)
		}
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
	code := Run(t.Context(), Options{EventFile: file, Stdout: &out, Version: "test", APIOutage: testOutage})
	return code, out.String()
}

// fakeVCSLog is an API server that keeps what a worker writes into its
// vcs log.
type fakeVCSLog struct {
	mu     sync.Mutex
	lines  []string
	closed bool
}

// serveVCSLog points doc's worker at a fake API that takes vcs log lines.
func serveVCSLog(t *testing.T, doc *core.EventDocument) *fakeVCSLog {
	f := &fakeVCSLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/events/"+doc.ID+"/logs" ||
			r.URL.Query().Get("container") != "vcs" {
			http.Error(w, "unexpected request", http.StatusNotFound)
			return
		}
		var body struct {
			After int64           `json:"after"`
			Lines []core.LogEntry `json:"lines"`
			Close bool            `json:"close"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.closed || body.After != int64(len(f.lines)) {
			http.Error(w, "out of order", http.StatusConflict)
			return
		}
		for _, l := range body.Lines {
			f.lines = append(f.lines, l.Message)
		}
		f.closed = body.Close
		w.Write([]byte("null"))
	}))
	t.Cleanup(srv.Close)
	doc.Worker.APIAddress = srv.URL
	return f
}

// text is the vcs log so far, and whether it was closed.
func (f *fakeVCSLog) text() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.lines, "\n"), f.closed
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
		vcs := serveVCSLog(t, doc)
		code, out := runWorker(t, doc)
		if code != 0 || !strings.Contains(out, "from git") || !strings.Contains(out, "refusing to overwrite") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if text, closed := vcs.text(); !closed || !strings.Contains(text, "git clone") || strings.Contains(out, "git clone") {
			t.Fatalf("the clone's commands belong in the vcs log (closed: %v):\n%s\nworker log:\n%s", closed, text, out)
		}
	})
	t.Run("CommitCheckout", func(t *testing.T) {
		repo, commit := gitRepo(t, `console.log("at the commit")`)
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Commit: commit}
		serveVCSLog(t, doc)
		if code, out := runWorker(t, doc); code != 0 || !strings.Contains(out, "at the commit") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("BadRefFailsWithGitsMessageInTheVCSLog", func(t *testing.T) {
		repo, _ := gitRepo(t, `console.log("x")`)
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Ref: "no-such-branch"}
		vcs := serveVCSLog(t, doc)
		code, out := runWorker(t, doc)
		text, closed := vcs.text()
		if code == 0 || !closed || !strings.Contains(text, "Remote branch no-such-branch not found") ||
			!strings.Contains(text, "git clone failed: exit status 128") {
			t.Fatalf("exit %d, vcs log (closed: %v):\n%s", code, closed, text)
		}
		if !strings.Contains(out, "ERROR: cloning the project's source from "+repo+" failed") ||
			!strings.Contains(out, "--container vcs") || strings.Contains(out, "no-such-branch") {
			t.Fatalf("the worker log should say the clone failed and point at the vcs log:\n%s", out)
		}
	})
	t.Run("VCSLogLostIsSaid", func(t *testing.T) {
		repo, _ := gitRepo(t, `console.log("x")`)
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: repo, Ref: "no-such-branch"}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"reason":"no"}`, http.StatusForbidden)
		}))
		defer srv.Close()
		doc.Worker.APIAddress = srv.URL
		code, out := runWorker(t, doc)
		if code == 0 || !strings.Contains(out, "log lines lost") || !strings.Contains(out, "git clone failed: exit status 128") {
			t.Fatalf("exit %d; a vcs log the API refused should be reported in the worker log:\n%s", code, out)
		}
	})
	t.Run("SourceReadyIsNotClonedAgain", func(t *testing.T) {
		// A worker pod: git-init filled the source folder; the clone URL
		// would fail if the worker tried it again.
		doc := baseDoc()
		doc.Worker.Git = &core.EventDocGit{CloneURL: filepath.Join(t.TempDir(), "no-such-repository")}
		src := t.TempDir()
		if err := os.MkdirAll(filepath.Join(src, ".brigade"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, ".brigade", "brigade.js"), []byte(`console.log("from git-init's checkout")`), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		b, _ := json.Marshal(doc)
		file := filepath.Join(dir, "event.json")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		code := Run(t.Context(), Options{EventFile: file, SourceDir: src, SourceReady: true, Stdout: &out, Version: "test", APIOutage: testOutage})
		if code != 0 || !strings.Contains(out.String(), "from git-init's checkout") || strings.Contains(out.String(), "clon") {
			t.Fatalf("exit %d:\n%s", code, out.String())
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

// TestAddGitConfigKeepsTheOperators: the credential helper is added after
// the git settings the environment already holds, not over them.
func TestAddGitConfigKeepsTheOperators(t *testing.T) {
	env := []string{"PATH=/bin", "GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=a", "GIT_CONFIG_VALUE_0=1",
		"GIT_CONFIG_KEY_1=b", "GIT_CONFIG_VALUE_1=2"}
	got := addGitConfig(env, "credential.helper", "store")
	want := append(env, "GIT_CONFIG_KEY_2=credential.helper", "GIT_CONFIG_VALUE_2=store", "GIT_CONFIG_COUNT=3")
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := addGitConfig([]string{"PATH=/bin"}, "k", "v"); !slices.Equal(got, []string{"PATH=/bin", "GIT_CONFIG_KEY_0=k", "GIT_CONFIG_VALUE_0=v", "GIT_CONFIG_COUNT=1"}) {
		t.Errorf("without settings: %q", got)
	}
}

// TestCheckoutForWorkerImages clones what an event document names, with
// the lines of the clone going to the given log; a document without git
// leaves the folder alone.
func TestCheckoutForWorkerImages(t *testing.T) {
	repo, commit := gitRepo(t, "// a script")
	doc, _ := json.Marshal(core.EventDocument{Worker: core.EventDocWorker{Git: &core.EventDocGit{CloneURL: repo, Commit: commit}}})
	dir := filepath.Join(t.TempDir(), "vcs")
	var lines []string
	if err := Checkout(t.Context(), doc, dir, func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatalf("Checkout: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".brigade", "brigade.js")); err != nil || string(b) != "// a script" {
		t.Errorf("the checkout's script: %q, %v", b, err)
	}
	if len(lines) == 0 || lines[0] != "cloning "+repo {
		t.Errorf("clone log %q; want it to start with the clone", lines)
	}

	none := filepath.Join(t.TempDir(), "none")
	if err := Checkout(t.Context(), []byte(`{"worker":{"git":null}}`), none, func(string) { t.Error("a line without git") }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(none); !os.IsNotExist(err) {
		t.Errorf("a document without git made %s (%v)", none, err)
	}
	if err := Checkout(t.Context(), []byte(`not json`), none, func(string) {}); err == nil {
		t.Error("Checkout accepted a document that is not JSON")
	}
	bad, _ := json.Marshal(core.EventDocument{Worker: core.EventDocWorker{Git: &core.EventDocGit{CloneURL: filepath.Join(repo, "missing")}}})
	lines = nil
	if err := Checkout(t.Context(), bad, filepath.Join(t.TempDir(), "bad"), func(l string) { lines = append(lines, l) }); err == nil ||
		!strings.Contains(strings.Join(lines, "\n"), "git clone failed") {
		t.Errorf("a clone that fails: %v; log %q", err, lines)
	}
}
