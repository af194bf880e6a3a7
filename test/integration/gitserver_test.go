package integration_test

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitServer serves bare repositories over git's smart HTTP protocol, the
// way a git host does: `git http-backend` behind net/http/cgi. Paths under
// /private/ need HTTP basic auth with password privatePassword (any user).
type gitServer struct {
	url  string // http://127.0.0.1:port
	root string // folder of the bare repositories, by URL path
}

const privatePassword = "s3cret-token"

// needGit skips the test when git is missing, unless BRIGADE_TEST_GIT is
// set (CI), where a missing git is a failure.
func needGit(t *testing.T) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("BRIGADE_TEST_GIT") != "" {
			t.Fatalf("BRIGADE_TEST_GIT is set but git is not installed: %v", err)
		}
		t.Skip("the git program is not installed (set BRIGADE_TEST_GIT=1 to make this a failure)")
	}
	return git
}

func newGitServer(t *testing.T) *gitServer {
	t.Helper()
	git := needGit(t)
	root := t.TempDir()
	backend := &cgi.Handler{
		Path: git, Args: []string{"http-backend"}, Dir: root,
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/private/") {
			if _, pw, ok := r.BasicAuth(); !ok || pw != privatePassword {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &gitServer{url: srv.URL, root: root}
}

// runGit runs git in dir with a fixed identity and no user or system
// configuration; it returns the trimmed output.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// repoBuilder makes commits in a work tree that is then published as a
// bare repository of the server.
type repoBuilder struct {
	t   *testing.T
	dir string
}

func (s *gitServer) newRepo(t *testing.T) *repoBuilder {
	t.Helper()
	dir := t.TempDir()
	runGit(t, dir, "init", "-q", "-b", "main")
	return &repoBuilder{t: t, dir: dir}
}

// commit writes files and commits them; it returns the commit's hash.
func (b *repoBuilder) commit(msg string, files map[string]string) string {
	b.t.Helper()
	for name, content := range files {
		p := filepath.Join(b.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	runGit(b.t, b.dir, "add", "-A")
	runGit(b.t, b.dir, "commit", "-q", "-m", msg)
	return runGit(b.t, b.dir, "rev-parse", "HEAD")
}

// publish copies the repository to the server as path (e.g.
// "testbed.git") and returns its clone URL. A commit that no branch tip
// points at can be fetched by its hash, as from GitHub.
func (s *gitServer) publish(t *testing.T, b *repoBuilder, path string) string {
	t.Helper()
	bare := filepath.Join(s.root, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, b.dir, "clone", "-q", "--bare", b.dir, bare)
	runGit(t, bare, "config", "uploadpack.allowAnySHA1InWant", "true")
	runGit(t, bare, "config", "http.receivepack", "false")
	return s.url + "/" + path
}
