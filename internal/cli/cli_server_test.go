package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

const (
	testRootPassword   = "cli-test-root-password"
	testSchedulerToken = "scheduler-token-0123456789abcdef"
	testObserverToken  = "observer-token-0123456789abcdef"
)

// startServer runs the real server in-process on a free port and returns
// it with its address.
func startServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: testRootPassword,
		SchedulerToken: testSchedulerToken, ObserverToken: testObserverToken, Version: "v-server"})
	return srv, "http://" + srv.Addr()
}

// brig runs a command and fails the test unless it exits 0.
func brig(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, env, stdin, args...)
	if code != 0 {
		t.Fatalf("brig %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// brigFails runs a command that must exit 1 with "brig: <message>" as the
// last thing on stderr, and returns its stderr.
func brigFails(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, env, stdin, args...)
	i := strings.LastIndex(errOut, "brig: ")
	if code != 1 || i < 0 || (i > 0 && errOut[i-1] != '\n') {
		t.Fatalf("brig %s: exit %d, want 1\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return errOut
}

const projectYAML = `# apiVersion and kind left out on purpose
metadata:
  id: demo
description: Demo project
spec:
  eventSubscriptions:
  - source: brigade.sh/cli
    types: [exec]
  workerTemplate:
    logLevel: DEBUG
    defaultConfigFiles:
      brigade.js: console.log("hello")
`

func TestCLIAgainstRealServer(t *testing.T) {
	_, addr := startServer(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "home", ".brigade", "config")
	env := map[string]string{"HOME": filepath.Join(dir, "home")}

	// Login with a wrong and then the right password.
	stderr := brigFails(t, env, "", "login", "-s", addr, "--root", "-p", "wrong")
	if stderr != "brig: Could not authenticate the request: Could not authenticate request using the supplied credentials. "+
		"Check the root password the server was given.\n" {
		t.Fatalf("wrong password: %s", stderr)
	}
	env[envRootPassword] = testRootPassword
	out := brig(t, env, "", "login", "-s", addr, "--root")
	if out != "Logged in to "+addr+" as root.\n" {
		t.Fatalf("login: %q", out)
	}
	fi, err := os.Stat(cfgPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("login file: %v, %v", fi, err)
	}
	delete(env, envRootPassword)

	// Projects.
	projectFile := filepath.Join(dir, "project.yaml")
	if err := os.WriteFile(projectFile, []byte(projectYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := brig(t, env, "", "project", "create", "-f", projectFile); out != "Created project \"demo\".\n" {
		t.Fatalf("project create: %q", out)
	}
	stderr = brigFails(t, env, "", "project", "create", "-f", projectFile)
	if !strings.Contains(stderr, "demo") {
		t.Fatalf("duplicate project: %s", stderr)
	}
	out = brig(t, env, "", "project", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "DESCRIPTION") ||
		!strings.Contains(lines[0], "AGE") || !strings.HasPrefix(lines[1], "demo") || !strings.Contains(lines[1], "Demo project") {
		t.Fatalf("project list:\n%s", out)
	}
	out = brig(t, env, "", "project", "get", "demo", "-o", "yaml")
	for _, want := range []string{"kind: Project", "apiVersion: brigade.sh/v2", "id: demo", "logLevel: DEBUG", "created:"} {
		if !strings.Contains(out, want) {
			t.Fatalf("project get lacks %q:\n%s", want, out)
		}
	}
	// What get prints can be fed back to create (under another id).
	again := filepath.Join(dir, "again.yaml")
	if err := os.WriteFile(again, []byte(strings.Replace(out, "id: demo", "id: demo-two", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	brig(t, env, "", "project", "create", "-f", again)
	if out := brig(t, env, "", "project", "get", "demo-two", "-o", "json"); !strings.Contains(out, `"id": "demo-two"`) {
		t.Fatalf("project get -o json:\n%s", out)
	}
	if stderr := brigFails(t, env, "", "project", "get", "nope"); stderr != "brig: Project \"nope\" not found. `brig project list` shows what exists.\n" {
		t.Fatalf("missing project: %q", stderr)
	}
	brigFails(t, env, "", "project", "delete", "demo-two") // no answer on stdin
	if out := brig(t, env, "n\n", "project", "delete", "demo-two"); !strings.Contains(out, "Nothing deleted.") {
		t.Fatalf("declined delete: %q", out)
	}
	if out := brig(t, env, "y\n", "project", "delete", "demo-two"); out != "Deleted project \"demo-two\".\n" {
		t.Fatalf("confirmed delete: %q", out)
	}
	brig(t, env, "", "project", "create", "-f", again)
	brig(t, env, "", "project", "delete", "demo-two", "-y")

	// Events.
	out = brig(t, env, "", "event", "create", "-p", "demo", "--payload", "hi", "-l", "team=blue")
	id := eventID(t, out)
	stderr = brigFails(t, env, "", "event", "create", "-p", "demo", "-t", "push")
	if !strings.Contains(stderr, "does not subscribe") {
		t.Fatalf("unsubscribed event: %s", stderr)
	}
	out = brig(t, env, "", "event", "list", "-p", "demo")
	if !strings.Contains(out, id) || !strings.Contains(out, "PENDING") || !strings.Contains(out, "brigade.sh/cli") {
		t.Fatalf("event list:\n%s", out)
	}
	out = brig(t, env, "", "event", "get", id, "-o", "yaml")
	for _, want := range []string{"kind: Event", "payload: hi", "team: blue", "phase: PENDING"} {
		if !strings.Contains(out, want) {
			t.Fatalf("event get lacks %q:\n%s", want, out)
		}
	}
	if out := brig(t, env, "", "event", "cancel", "-i", id, "-y"); out != "Canceled event \""+id+"\".\n" {
		t.Fatalf("event cancel: %q", out)
	}
	if out := brig(t, env, "", "event", "get", id); !regexp.MustCompile(`(?m)^Phase: +CANCELED$`).MatchString(out) {
		t.Fatalf("canceled event:\n%s", out)
	}
	brigFails(t, env, "", "event", "cancel", id) // already terminal
	if out := brig(t, env, "", "event", "logs", id); out != "" {
		t.Fatalf("logs of a canceled event: %q", out)
	}

	// Version shows the server's too.
	if out := brig(t, env, "", "version"); !strings.Contains(out, "Server version: v-server") {
		t.Fatalf("version: %q", out)
	}

	// Logout ends the session and deletes the file.
	if out := brig(t, env, "", "logout"); out != "Logged out.\n" {
		t.Fatalf("logout: %q", out)
	}
	if _, err := os.Stat(cfgPath); !os.IsNotExist(err) {
		t.Fatalf("login file after logout: %v", err)
	}
	brigFails(t, env, "", "project", "list")
}

func eventID(t *testing.T, out string) string {
	t.Helper()
	const prefix = "Created event \""
	if !strings.HasPrefix(out, prefix) || !strings.HasSuffix(out, "\".\n") {
		t.Fatalf("event create: %q", out)
	}
	return strings.TrimSuffix(strings.TrimPrefix(out, prefix), "\".\n")
}

// TestEventCreateFollow plays scheduler, observer and worker while
// `brig event create --follow` waits, and checks its output and exit code.
func TestEventCreateFollow(t *testing.T) {
	srv, addr := startServer(t)
	ctx := context.Background()
	anon := client.New(addr, "")
	tok, err := anon.CreateRootSession(ctx, testRootPassword)
	if err != nil {
		t.Fatal(err)
	}
	root := anon.WithToken(tok.Value)
	if _, err := root.CreateProject(ctx, &core.Project{
		Metadata: core.ObjectMeta{ID: "follow"},
		Spec:     core.ProjectSpec{EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}}},
	}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		envConfig: filepath.Join(t.TempDir(), "config"), envServer: addr, envToken: tok.Value,
	}

	for _, tc := range []struct {
		name  string
		phase core.WorkerPhase
		code  int
	}{
		{"Succeeded", core.PhaseSucceeded, 0},
		{"Failed", core.PhaseFailed, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			queued, stop := srv.Store().Subscribe(core.TopicQueue)
			defer stop()
			type result struct {
				out, errOut string
				code        int
			}
			res := make(chan result, 1)
			go func() {
				out, errOut, code := run(t, env, "", "event", "create", "-p", "follow", "--follow")
				res <- result{out, errOut, code}
			}()
			id := waitForPendingEvent(t, root, queued, "follow")
			drive(t, srv, anon, id, tc.phase, "hello from the worker")
			r := <-res
			if r.code != tc.code || !strings.Contains(r.out, "Created event \""+id+"\".") ||
				!strings.Contains(r.out, "hello from the worker\n") {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", r.code, tc.code, r.out, r.errOut)
			}
			if tc.code != 0 && !strings.Contains(r.errOut, " FAILED: the worker's script failed") {
				t.Fatalf("stderr: %s", r.errOut)
			}
		})
	}
}

// waitForPendingEvent waits, on queue notifications, for the one PENDING
// event of a project.
func waitForPendingEvent(t *testing.T, c *client.Client, queued <-chan struct{}, project string) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		l, err := c.ListEvents(context.Background(), &client.EventSelector{
			ProjectID: project, WorkerPhases: []core.WorkerPhase{core.PhasePending},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == 1 {
			return l.Items[0].Metadata.ID
		}
		select {
		case <-queued:
		case <-timeout:
			t.Fatal("no event was created")
		}
	}
}

// drive starts the worker, writes a log line and ends it in phase.
func drive(t *testing.T, srv *server.Server, anon *client.Client, id string, phase core.WorkerPhase, line string) {
	t.Helper()
	ctx := context.Background()
	sched, obs := anon.WithToken(testSchedulerToken), anon.WithToken(testObserverToken)
	if err := sched.StartWorker(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := obs.UpdateWorkerStatus(ctx, id, core.WorkerStatus{Phase: core.PhaseRunning}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	stream := core.LogStream{EventID: id, Container: "worker"}
	logs := srv.Store().Logs()
	if err := logs.Append(ctx, stream, []core.LogEntry{{Time: &now, Message: line}}); err != nil {
		t.Fatal(err)
	}
	if err := logs.Close(ctx, stream); err != nil {
		t.Fatal(err)
	}
	if err := obs.UpdateWorkerStatus(ctx, id, core.WorkerStatus{Phase: phase}); err != nil {
		t.Fatal(err)
	}
}
