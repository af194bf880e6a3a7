package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/cli"
	"github.com/brigadeplatform/brigade/internal/core"
)

// coveredElsewhere names the commands TestEveryCommandAsAProcess does not
// run, each with where it is tested instead.
var coveredElsewhere = map[string]string{
	"brig term": "a full-screen terminal UI: internal/tui's tests run the built brig binary in a pseudo-terminal and read the screen",
}

// brigRuns runs brig processes for a test and remembers which commands
// ran and exited 0, so that the test can tell which have no case.
type brigRuns struct {
	tree *cobra.Command // to name the command an argument list runs

	mu        sync.Mutex
	succeeded map[string]bool // command path → ran and exited 0
	asJSON    map[string]bool // command path → ran with -o json and exited 0
}

func newBrigRuns() *brigRuns {
	return &brigRuns{
		tree: cli.NewRootCommand(cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard,
			Getenv: func(string) string { return "" }}),
		succeeded: map[string]bool{},
		asJSON:    map[string]bool{},
	}
}

// session is a brig user: an environment (which server, which login)
// shared by the processes it runs.
type session struct {
	runs *brigRuns
	env  []string
}

func (r *brigRuns) session(env ...string) *session { return &session{runs: r, env: env} }

// with is the session with more environment.
func (s *session) with(env ...string) *session {
	return &session{runs: s.runs, env: append(append([]string(nil), s.env...), env...)}
}

// run runs brig with args and stdin and returns its stdout, stderr and exit
// code; a run that exits 0 counts for the command it ran.
func (s *session) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code := brigProcessInput(t, s.env, stdin, args...)
	if code == 0 && !containsHelpFlag(args) {
		if cmd, _, err := s.runs.tree.Find(args); err == nil {
			s.runs.mu.Lock()
			s.runs.succeeded[cmd.CommandPath()] = true
			if strings.Contains(" "+strings.Join(args, " ")+" ", " -o json ") {
				s.runs.asJSON[cmd.CommandPath()] = true
			}
			s.runs.mu.Unlock()
		}
	}
	return out, errOut, code
}

func containsHelpFlag(args []string) bool {
	for _, a := range args {
		if a == "--help" || a == "-h" {
			return true
		}
	}
	return false
}

// ok runs brig and fails the test unless it exits 0; it returns stdout.
func (s *session) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.run(t, "", args...)
	if code != 0 {
		t.Fatalf("brig %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs brig and fails the test unless it exits 1; it returns stderr.
func (s *session) fails(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.run(t, "", args...)
	if code != 1 || !strings.HasPrefix(errOut, "brig: ") {
		t.Fatalf("brig %s: exit %d, want 1 with \"brig: ...\" on stderr\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return errOut
}

// contains fails the test unless s holds each of wants.
func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

// decodeAs decodes what `-o json` printed into v, which must be the API's
// object of that kind: the envelope must name it, and every field must be
// one of v's (envelopes of nested objects aside).
func decodeAs(t *testing.T, out, kind string, v any) {
	t.Helper()
	var env struct{ Kind, APIVersion string }
	if err := json.Unmarshal([]byte(out), &env); err != nil || env.Kind != kind || env.APIVersion != core.APIVersion {
		t.Fatalf("-o json: kind %q, apiVersion %q (%v); want %s:\n%s", env.Kind, env.APIVersion, err, kind, out)
	}
	var tree any
	if err := json.Unmarshal([]byte(out), &tree); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(withoutEnvelopes(tree))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("-o json does not decode into %T: %v\n%s", v, err, out)
	}
}

// withoutEnvelopes drops "kind" and "apiVersion" from every object of an
// API object's JSON.
func withoutEnvelopes(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v["apiVersion"] == core.APIVersion {
			delete(v, "apiVersion")
			delete(v, "kind")
		}
		for k, e := range v {
			v[k] = withoutEnvelopes(e)
		}
	case []any:
		for i, e := range v {
			v[i] = withoutEnvelopes(e)
		}
	}
	return v
}

// createdID is the event ID in brig's "Created event "ID"." line.
func createdID(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Created event "([^"]+)"\.$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no created event in:\n%s", out)
	}
	return m[1]
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEveryCommandAsAProcess runs every command of brig as its own process
// against real servers: one whose events stay pending (with an identity
// provider, for people's logins) and one whose events run on the local
// substrate. Every get and list round-trips -o json into the API's types;
// failures exit 1. A command that no case runs successfully fails the test,
// unless coveredElsewhere says where it is tested.
func TestEveryCommandAsAProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs brig processes against real servers; skipped with -short")
	}
	runs := newBrigRuns()
	t.Run("Administration", func(t *testing.T) { testAdministration(t, runs) })
	t.Run("RunningEvents", func(t *testing.T) { testRunningEvents(t, runs) })
	t.Run("Mistakes", func(t *testing.T) { testMistakes(t, runs) })
	t.Run("HelpAndCompletion", func(t *testing.T) { testHelpAndCompletion(t, runs) })

	var missing []string
	walk(runs.tree, func(c *cobra.Command) {
		path := c.CommandPath()
		if _, ok := coveredElsewhere[path]; ok {
			return
		}
		if !runs.succeeded[path] {
			missing = append(missing, path+" never ran and exited 0 here")
		} else if c.Flags().Lookup("output") != nil && !runs.asJSON[path] {
			missing = append(missing, path+" never ran with -o json here")
		}
	})
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s: add a case for it to TestEveryCommandAsAProcess (or, if it cannot run here, to coveredElsewhere with where it is tested)", m)
	}
	for path := range coveredElsewhere {
		if c, _, err := runs.tree.Find(strings.Fields(path)[1:]); err != nil || c.CommandPath() != path {
			t.Errorf("coveredElsewhere names %q, which is not a command of brig", path)
		}
	}
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// fakeBrowser puts an xdg-open (and open) on PATH that is this test binary
// playing the browser (see TestMain): it follows the address brig gives it
// through the identity provider back to the server, then writes the status
// and body of the last page to done.
func fakeBrowser(t *testing.T) (pathEnv, done string) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"xdg-open", "open"} {
		if err := os.Symlink(os.Args[0], filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return "PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), filepath.Join(t.TempDir(), "browser-done")
}

// playBrowser is the fake browser's process: GET the address (following
// redirects, as a browser does) and write what the last page said to the
// file named by BRIG_TEST_BROWSER_DONE.
func playBrowser(url string) {
	var result string
	resp, err := http.Get(url)
	if err != nil {
		result = "error: " + err.Error()
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result = resp.Status + "\n" + string(body)
	}
	done := os.Getenv("BRIG_TEST_BROWSER_DONE")
	_ = os.WriteFile(done+".tmp", []byte(result), 0o644)
	_ = os.Rename(done+".tmp", done) // whole or not at all
}

// brigProcessInput is brigProcess with stdin.
func brigProcessInput(t *testing.T, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	// A race-enabled binary sleeps a second when it exits 0, unless told
	// not to; its races still make it exit 66.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append([]string{"BRIG_TEST_AS_BRIG=1", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "GORACE=" + gorace}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}
