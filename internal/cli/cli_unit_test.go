package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// run executes brig with args in a sandboxed Env (no real environment, no
// real home folder) and returns stdout, stderr and the exit code.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runIn(t, false, env, stdin, args...)
}

// runIn is run with standard input a terminal or not.
func runIn(t *testing.T, terminal bool, env map[string]string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Terminal: terminal,
		Getenv:  func(k string) string { return env[k] },
		Now:     func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) },
		Version: "v-test", Commit: "c-test",
	}, args)
	return out.String(), errOut.String(), code
}

func TestNotLoggedIn(t *testing.T) {
	env := map[string]string{envConfig: filepath.Join(t.TempDir(), "config")}
	for _, args := range [][]string{{"project", "list"}, {"event", "get", "x"}, {"logout"}} {
		_, stderr, code := run(t, env, "", args...)
		want := "brig: not logged in: run `brig login -s http://127.0.0.1:7745 --root`"
		if code != 1 || !strings.HasPrefix(stderr, want) {
			t.Errorf("%v: code %d, stderr %q", args, code, stderr)
		}
	}
}

func TestValidation(t *testing.T) {
	env := map[string]string{envConfig: filepath.Join(t.TempDir(), "config")}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"login", "--root"}, "--server is required"},
		{[]string{"login", "-s", "http://x", "--root", "--browse"}, "use one or the other"},
		{[]string{"project", "create"}, "no project definition: pass -f project.yaml"},
		{[]string{"project", "get", "x", "-o", "xml"}, `--output "xml" is not a format`},
		{[]string{"event", "create"}, "--project is required"},
		{[]string{"event", "create", "-p", "demo", "--payload", "a", "--payload-file", "b"}, "cannot be used together"},
		{[]string{"event", "create", "-p", "demo", "-l", "novalue"}, `--label "novalue" is not key=value`},
		{[]string{"event", "get"}, "which event? give its ID as the argument or with -i (--id); `brig event list` shows them"},
		{[]string{"event", "get", "a", "b"}, "accepts at most 1 arg(s)"},
		{[]string{"event", "get", "a", "-i", "b"}, "name different events"},
		{[]string{"event", "list", "--limit", "0"}, "--limit 0: use 1 to 100"},
		{[]string{"event", "delete-many", "-p", "demo"}, "which events? pick phases"},
		{[]string{"event", "cancel-many"}, "--project (-p) is required"},
		{[]string{"project", "update"}, "--file (-f) is required"},
		{[]string{"project", "secret", "set", "demo"}, "no secrets given"},
		{[]string{"project", "secret", "set", "demo", "--set", "novalue"}, `--set "novalue" is not key=value`},
		{[]string{"project", "secret", "unset", "demo"}, "name each with -u KEY"},
		{[]string{"project", "secret", "list"}, "which project?"},
		{[]string{"job", "list"}, "which event?"},
		{[]string{"init"}, "--id (-i) is required"},
		{[]string{"init", "-i", "Bad_Name"}, "lower-case letters"},
		{[]string{"init", "-i", "ok-name", "-l", "python"}, "use ts (TypeScript) or js (JavaScript)"},
		{[]string{"completion", "tcsh"}, "invalid argument"},
		{[]string{"exec"}, "which project?"},
		{[]string{"exec", "demo", "-p", "other"}, "name different projects"},
		{[]string{"exec", "demo", "--payload", "a", "--payload-file", "b"}, "cannot be used together"},
		{[]string{"exec", "demo", "-c", "brigade.json"}, "--config needs --file"},
		{[]string{"exec", "demo", "-f", "-", "--payload-file", "-"}, "only one of"},
		{[]string{"run", "demo", "--level", "loud"}, `--level "loud" is not a level`},
		{[]string{"nonsense"}, "unknown command"},
	}
	for _, tc := range cases {
		_, stderr, code := run(t, env, "", tc.args...)
		if code != 1 || !strings.HasPrefix(stderr, "brig: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: code %d, stderr %q, want it to contain %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestLoginNeedsAPasswordWhenStdinIsNotATerminal(t *testing.T) {
	env := map[string]string{envConfig: filepath.Join(t.TempDir(), "config")}
	_, stderr, code := run(t, env, "", "login", "-s", "http://127.0.0.1:1", "--root")
	if code != 1 || !strings.Contains(stderr, "BRIGADE_ROOT_PASSWORD") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

func TestSettings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config")
	if err := saveConfig(path, config{Server: "http://saved", Token: "saved-token", Insecure: true}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file mode: %v, %v", fi, err)
	}
	env := map[string]string{envConfig: path}
	a := &app{env: Env{Getenv: func(k string) string { return env[k] }}}

	cfg, err := a.settings(true)
	if err != nil || cfg.Server != "http://saved" || cfg.Token != "saved-token" || !cfg.Insecure {
		t.Fatalf("saved: %+v, %v", cfg, err)
	}
	env[envToken] = "env-token"
	cfg, err = a.settings(true)
	if err != nil || cfg.Server != "http://saved" || cfg.Token != "env-token" || !cfg.Insecure {
		t.Fatalf("BRIGADE_TOKEN overrides the saved token: %+v, %v", cfg, err)
	}
	env[envServer] = "http://env"
	cfg, err = a.settings(true)
	if err != nil || cfg.Server != "http://env" || cfg.Token != "env-token" || cfg.Insecure {
		t.Fatalf("env overrides: %+v, %v", cfg, err)
	}
	delete(env, envToken)
	if _, err := a.settings(true); err != errNotLoggedIn {
		t.Fatalf("the saved token must not go to another server: %v", err)
	}
	if cfg, err := a.settings(false); err != nil || cfg.Server != "http://env" || cfg.Token != "" {
		t.Fatalf("server only: %+v, %v", cfg, err)
	}
	env[envServer] = "http://saved/"
	if cfg, err := a.settings(true); err != nil || cfg.Token != "saved-token" || !cfg.Insecure {
		t.Fatalf("BRIGADE_SERVER naming the saved server keeps its login: %+v, %v", cfg, err)
	}
	delete(env, envServer)

	if err := os.WriteFile(path, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.settings(true); err == nil || !strings.Contains(err.Error(), "run `brig login` again") {
		t.Fatalf("corrupt file: %v", err)
	}
}

func TestDecodeObject(t *testing.T) {
	var p core.Project
	yamlDoc := "metadata:\n  id: demo\ndescription: Demo\nspec:\n  workerTemplate:\n    logLevel: DEBUG\n"
	if err := decodeObject([]byte(yamlDoc), "p.yaml", "Project", &p); err != nil {
		t.Fatal(err)
	}
	if p.Metadata.ID != "demo" || p.Spec.WorkerTemplate.LogLevel != "DEBUG" {
		t.Fatalf("got %+v", p)
	}
	jsonDoc := `{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"demo"},"spec":{"workerTemplate":{}}}`
	if err := decodeObject([]byte(jsonDoc), "p.json", "Project", &p); err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]string{
		"kind: Event\nmetadata:\n  id: demo\n":                  `kind is "Event", want "Project"`,
		"apiVersion: v1\nmetadata:\n  id: demo\n":               `apiVersion is "v1"`,
		"metadata:\n  id: demo\nspec:\n  workerTemplates: {}\n": "unknown field",
		"- a\n- b\n": "must hold one Project object",
		"a: [":       "not valid YAML",
	} {
		err := decodeObject([]byte(doc), "p.yaml", "Project", &core.Project{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", doc, err, want)
		}
	}
}

// TestDescribe: brig prints a typed API error as Brigade's brig does, with
// no prefix of its own, and adds a next step only where the text has none.
func TestDescribe(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&core.NotFoundError{Type: "Project", ID: "x"}, "Project \"x\" not found. `brig project list` shows what exists."},
		{&core.NotFoundError{Type: "Widget", ID: "x"}, `Widget "x" not found.`},
		{&core.NotFoundError{Reason: "the original event was deleted"}, "the original event was deleted"},
		{&core.BadRequestError{Reason: "Request body failed JSON validation", Details: []string{"a", "b"}},
			"Bad request: Request body failed JSON validation:\n  0. a\n  1. b"},
		{&core.ConflictError{Type: "Event", ID: "e", Reason: `Event "e" was not canceled because it was already in a terminal state.`},
			`Event "e" was not canceled because it was already in a terminal state.`},
		{fmt.Errorf("canceling: %w", &core.ConflictError{Reason: "Event worker phase \"PENDING\" is non-terminal and may not yet be retried."}),
			"Event worker phase \"PENDING\" is non-terminal and may not yet be retried."},
		{&core.AuthenticationError{Reason: "Could not authenticate request using the supplied credentials."},
			"Could not authenticate the request: Could not authenticate request using the supplied credentials. " +
				"Log in again with `brig login -s <server> --root`."},
		{&core.AuthenticationError{Reason: "Supplied token has expired. Please log in again."},
			"Could not authenticate the request: Supplied token has expired. Please log in again."},
		{&core.AuthorizationError{}, "The request is not authorized. " + grantHint},
		{&core.AuthorizationError{Reason: "this needs the ADMIN role"}, "The request is not authorized: this needs the ADMIN role. " + grantHint},
		{&core.NotSupportedError{Reason: "Authentication using root credentials is not supported by this server."},
			"Request not supported: Authentication using root credentials is not supported by this server."},
		{context.Canceled, "interrupted"},
		{errors.New("plain"), "plain"},
	}
	for _, tc := range cases {
		if got := describe(tc.err); got != tc.want {
			t.Errorf("describe(%#v)\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		5 * time.Second: "5s", 3 * time.Minute: "3m", 5 * time.Hour: "5h", 72 * time.Hour: "3d", -time.Second: "0s",
	} {
		ts := now.Add(-d)
		if got := age(&ts, now); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
	if age(nil, now) != "-" {
		t.Error("nil time")
	}
}

func TestVersionWithoutLogin(t *testing.T) {
	env := map[string]string{envConfig: filepath.Join(t.TempDir(), "config")}
	out, _, code := run(t, env, "", "version")
	if code != 0 || out != "Client version: v-test -- commit c-test\n" {
		t.Fatalf("code %d, out %q", code, out)
	}
}
