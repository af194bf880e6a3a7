package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// TestMain makes this test binary the brig binary when asked, so the tests
// below run brig as its own process: real arguments, real exit codes. Run
// as xdg-open (or open), it is the browser of fakeBrowser; otherwise it can
// also run the local substrate's workers (testenv.Main).
func TestMain(m *testing.M) {
	if name := filepath.Base(os.Args[0]); (name == "xdg-open" || name == "open") && len(os.Args) == 2 {
		playBrowser(os.Args[1]) // see fakeBrowser
		return
	}
	if os.Getenv("BRIG_TEST_AS_BRIG") == "1" {
		main()
		return
	}
	testenv.Main(m)
}

// brigProcess runs brig in its own process and returns its output and exit
// code.
func brigProcess(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return brigProcessInput(t, env, "", args...)
}

func TestBinaryExitCodes(t *testing.T) {
	srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: "binary-test-password"})
	addr := "http://" + srv.Addr()
	tok, err := client.New(addr, "").CreateRootSession(t.Context(), "binary-test-password")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"BRIGADE_SERVER=" + addr, "BRIGADE_TOKEN=" + tok.Value, "BRIGADE_CONFIG=" + filepath.Join(t.TempDir(), "config")}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a part of it
		stderr string // a part of it
	}{
		{[]string{"project", "list"}, 0, "No projects found.", ""},
		{[]string{"project", "list", "-o", "json"}, 0, `"kind": "ProjectList"`, ""},
		{[]string{"event", "lst"}, 1, "", `brig: unknown command "lst" for "brig event"; did you mean get or list?`},
		{[]string{"projects", "secrets", "sett", "x"}, 1, "", "did you mean set?"},
		{[]string{"event", "list", "--projekt", "x"}, 1, "", "did you mean --project?"},
		{[]string{"event", "retry"}, 1, "", "which event? give its ID as the argument or with -i (--id)"},
		{[]string{"event", "get", "nope"}, 1, "", "`brig event list` shows what exists."},
		{[]string{"event"}, 0, "Available Commands:", ""},
		{[]string{"version"}, 0, "Server version: ", ""},
	} {
		out, errOut, code := brigProcess(t, env, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("brig %s: exit %d (want %d)\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, tc.code, out, errOut)
		}
	}
}
