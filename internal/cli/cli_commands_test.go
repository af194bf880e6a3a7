package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// decodeJSON decodes what `-o json` printed into v, refusing fields v does
// not have (apart from the envelope), so the output is the API's object.
func decodeJSON(t *testing.T, out string, kind string, v any) {
	t.Helper()
	var env struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal([]byte(out), &env); err != nil || env.Kind != kind || env.APIVersion != core.APIVersion {
		t.Fatalf("-o json: kind %q apiVersion %q (%v), want %s:\n%s", env.Kind, env.APIVersion, err, kind, out)
	}
	if err := decodeObject([]byte(out), "-o json", kind, v); err != nil {
		t.Fatalf("-o json does not decode into %T: %v\n%s", v, err, out)
	}
}

// TestInitRunsAsIs scaffolds a project with brig init, creates it from the
// file brig init wrote and follows an event: the job's line and its
// summary row show.
func TestInitRunsAsIs(t *testing.T) {
	addr, token := startRunningServer(t)
	env := map[string]string{envConfig: filepath.Join(t.TempDir(), "config"), envServer: addr, envToken: token}
	for _, lang := range []string{"ts", "js"} {
		t.Run(lang, func(t *testing.T) {
			dir := t.TempDir()
			id := "init-" + lang
			out := brig(t, env, "", "init", "-i", id, "-l", lang, dir)
			script := filepath.Join(dir, ".brigade", "brigade."+lang)
			if !strings.Contains(out, "Wrote "+script) || !strings.Contains(out, "brig event create -p "+id+" --follow") {
				t.Fatalf("init:\n%s", out)
			}
			if _, err := os.Stat(script); err != nil {
				t.Fatal(err)
			}
			if stderr := brigFails(t, env, "", "init", "-i", id, dir); !strings.Contains(stderr, "--force") {
				t.Fatalf("init over existing files: %s", stderr)
			}
			brig(t, env, "", "project", "create", "-f", filepath.Join(dir, "project.yaml"))
			out = brig(t, env, "", "event", "create", "-p", id, "--follow")
			if !strings.Contains(out, "[hello] Hello, World!") ||
				!regexp.MustCompile(`(?m)^  hello +SUCCEEDED +\S+ +exit code 0$`).MatchString(out) {
				t.Fatalf("follow:\n%s", out)
			}
			// The script file runs as it is too.
			if out := brig(t, env, "", "exec", id, "-f", script); !strings.Contains(out, "[hello] Hello, World!") {
				t.Fatalf("exec of the script:\n%s", out)
			}
		})
	}
}

// TestCommandsAgainstRunningServer runs every project, secret, event, job
// and log command against a server whose events run, checking tables,
// -o json round-trips and what each prints.
func TestCommandsAgainstRunningServer(t *testing.T) {
	addr, token := startRunningServer(t)
	dir := t.TempDir()
	env := map[string]string{envConfig: filepath.Join(dir, "config"), envServer: addr, envToken: token}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	project := write("project.yaml", `metadata:
  id: cmds
description: first
spec:
  eventSubscriptions:
  - source: brigade.sh/cli
    types: [exec]
  workerTemplate:
    defaultConfigFiles:
      brigade.js: |
        const { events, Job } = require("@brigadecore/brigadier");
        events.on("brigade.sh/cli", "exec", async event => {
          console.log("secret is", event.project.secrets.greeting === "hi" ? "set" : "unset");
          const j = new Job("hello", "debian:12-slim", event);
          j.primaryContainer.command = ["echo", "hello from the job"];
          await j.run();
          if (event.payload === "fail") {
            const k = new Job("broken", "debian:12-slim", event);
            k.primaryContainer.command = ["sh", "-c", "exit 4"];
            await k.run();
          }
        });
        events.process();
`)
	brig(t, env, "", "project", "create", "-f", project)

	t.Run("ProjectUpdateGetList", func(t *testing.T) {
		updated := write("updated.yaml", strings.Replace(mustRead(t, project), "description: first", "description: second", 1))
		if out := brig(t, env, "", "project", "update", "-f", updated); out != "Updated project \"cmds\".\n" {
			t.Fatalf("update: %q", out)
		}
		var p core.Project
		decodeJSON(t, brig(t, env, "", "project", "get", "-i", "cmds", "-o", "json"), "Project", &p)
		if p.Metadata.ID != "cmds" || p.Description != "second" || p.Spec.WorkerTemplate.DefaultConfigFiles["brigade.js"] == "" {
			t.Fatalf("project %+v", p)
		}
		out := brig(t, env, "", "project", "get", "cmds")
		for _, want := range []string{"Description:", "second", "Subscribes to:", "brigade.sh/cli exec", "Script:", "brigade.js"} {
			if !strings.Contains(out, want) {
				t.Errorf("project get lacks %q:\n%s", want, out)
			}
		}
		var l client.List[core.Project]
		decodeJSON(t, brig(t, env, "", "project", "list", "-o", "json"), "ProjectList", &l)
		if len(l.Items) != 1 || l.Items[0].Metadata.ID != "cmds" {
			t.Fatalf("project list -o json: %+v", l)
		}
		if out := brig(t, env, "", "project", "list", "-o", "yaml"); !strings.Contains(out, "kind: ProjectList") {
			t.Fatalf("project list -o yaml:\n%s", out)
		}
		other := write("other.yaml", strings.Replace(mustRead(t, project), "id: cmds", "id: made-by-update", 1))
		brigFails(t, env, "", "project", "update", "-f", other)
		brig(t, env, "", "project", "update", "-f", other, "--create")
		brig(t, env, "", "project", "delete", "made-by-update", "-y")
	})

	t.Run("Secrets", func(t *testing.T) {
		if out := brig(t, env, "", "project", "secret", "list", "cmds"); !strings.Contains(out, "has no secrets") {
			t.Fatalf("empty list: %q", out)
		}
		file := write("secrets.yaml", "greeting: hi\nport: 8080\n")
		out := brig(t, env, "", "project", "secret", "set", "cmds", "-f", file, "--set", "token=abc")
		for _, k := range []string{"greeting", "port", "token"} {
			if !strings.Contains(out, "Set secret \""+k+"\" of project \"cmds\".") {
				t.Errorf("set lacks %s:\n%s", k, out)
			}
		}
		out = brig(t, env, "", "project", "secrets", "list", "-p", "cmds")
		if !regexp.MustCompile(`(?m)^greeting +\*\*\* \(redacted\)$`).MatchString(out) || strings.Contains(out, "abc") {
			t.Fatalf("secret list:\n%s", out)
		}
		var l client.List[core.Secret]
		decodeJSON(t, brig(t, env, "", "project", "secret", "list", "cmds", "-o", "json"), "SecretList", &l)
		if len(l.Items) != 3 || l.Items[0].Key != "greeting" || l.Items[0].Value != "" {
			t.Fatalf("secret list -o json: %+v", l)
		}
		brig(t, env, "", "project", "secret", "unset", "cmds", "-u", "token", "-u", "port")
		decodeJSON(t, brig(t, env, "", "project", "secret", "list", "cmds", "-o", "json"), "SecretList", &l)
		if len(l.Items) != 1 {
			t.Fatalf("after unset: %+v", l)
		}
		bad := write("bad-secrets.yaml", "nested:\n  a: b\n")
		if stderr := brigFails(t, env, "", "project", "secret", "set", "cmds", "-f", bad); !strings.Contains(stderr, "flat KEY: VALUE") {
			t.Fatalf("nested secrets: %s", stderr)
		}
	})

	var passed, failed string
	t.Run("FollowShowsEveryJobAndWhyItFailed", func(t *testing.T) {
		out := brig(t, env, "", "event", "create", "-p", "cmds", "--follow")
		passed = eventID(t, strings.SplitAfter(out, "\n")[0])
		for _, want := range []string{"[worker] secret is set", "[hello] hello from the job", "SUCCEEDED after "} {
			if !strings.Contains(out, want) {
				t.Errorf("follow lacks %q:\n%s", want, out)
			}
		}
		out, errOut, code := run(t, env, "", "event", "create", "-p", "cmds", "--payload", "fail", "-f")
		failed = eventID(t, strings.SplitAfter(out, "\n")[0])
		if code != 1 || !regexp.MustCompile(`(?m)^  broken +FAILED +\S+ +non-zero exit code 4$`).MatchString(out) ||
			!strings.Contains(errOut, "job broken: non-zero exit code 4") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
	})
	if passed == "" || failed == "" {
		t.FailNow()
	}

	t.Run("EventGetAndJobList", func(t *testing.T) {
		out := brig(t, env, "", "event", "get", failed)
		for _, want := range []string{"Project:", "cmds", "Payload:", "4 bytes", "JOB", "RESULT"} {
			if !strings.Contains(out, want) {
				t.Errorf("event get lacks %q:\n%s", want, out)
			}
		}
		if !regexp.MustCompile(`(?m)^Phase: +FAILED$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^broken +debian:12-slim +FAILED .* non-zero exit code 4$`).MatchString(out) ||
			strings.Contains(out, "require(") {
			t.Errorf("event get:\n%s", out)
		}
		var e core.Event
		decodeJSON(t, brig(t, env, "", "event", "get", failed, "-o", "json"), "Event", &e)
		if e.Metadata.ID != failed || len(e.Worker.Jobs) != 2 || e.Worker.Jobs[1].Status.ExitCode == nil ||
			*e.Worker.Jobs[1].Status.ExitCode != 4 || e.Worker.Jobs[1].Status.Reason != "exit code 4" {
			t.Fatalf("event get -o json: %+v", e.Worker)
		}
		if out := brig(t, env, "", "event", "get", failed, "-o", "yaml"); !strings.Contains(out, "require(") {
			t.Errorf("-o yaml lacks the script:\n%s", out)
		}
		out = brig(t, env, "", "job", "list", passed)
		if !regexp.MustCompile(`(?m)^hello +debian:12-slim +SUCCEEDED .* exit code 0$`).MatchString(out) {
			t.Errorf("job list:\n%s", out)
		}
		var jobs client.List[core.Job]
		decodeJSON(t, brig(t, env, "", "job", "list", "-i", failed, "-o", "json"), "JobList", &jobs)
		if len(jobs.Items) != 2 || jobs.Items[0].Name != "hello" {
			t.Fatalf("job list -o json: %+v", jobs)
		}
	})

	t.Run("EventListFilters", func(t *testing.T) {
		out := brig(t, env, "", "event", "list", "-p", "cmds", "--failed")
		if !strings.Contains(out, failed) || strings.Contains(out, passed) || !strings.Contains(out, "DURATION") {
			t.Fatalf("--failed:\n%s", out)
		}
		var l client.List[core.Event]
		decodeJSON(t, brig(t, env, "", "event", "list", "--succeeded", "-s", "brigade.sh/cli", "-t", "exec", "-o", "json"), "EventList", &l)
		if len(l.Items) != 1 || l.Items[0].Metadata.ID != passed {
			t.Fatalf("--succeeded -o json: %+v", l.Items)
		}
		if out := brig(t, env, "", "event", "list", "-t", "push"); out != "No events found.\n" {
			t.Fatalf("-t push: %q", out)
		}
		_, errOut, _ := run(t, env, "", "event", "list", "-p", "cmds", "--limit", "1")
		if !strings.Contains(errOut, "next page: brig event list -p cmds --continue ") {
			t.Fatalf("paging hint: %q", errOut)
		}
	})

	t.Run("Logs", func(t *testing.T) {
		if out := brig(t, env, "", "event", "logs", passed); !strings.Contains(out, "secret is set") || strings.Contains(out, "hello from the job") {
			t.Fatalf("worker log:\n%s", out)
		}
		if out := brig(t, env, "", "event", "logs", "-i", passed, "-j", "hello"); !strings.Contains(out, "hello from the job\n") {
			t.Fatalf("job log:\n%s", out)
		}
		out := brig(t, env, "", "event", "logs", passed, "-j", "hello", "--timestamps")
		if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hello from the job$`).MatchString(out) {
			t.Fatalf("--timestamps:\n%s", out)
		}
		out = brig(t, env, "", "event", "logs", passed, "--follow")
		if !strings.Contains(out, "[worker] secret is set") || !strings.Contains(out, "[hello] hello from the job") ||
			!strings.Contains(out, "SUCCEEDED after") {
			t.Fatalf("logs -f:\n%s", out)
		}
		if _, _, code := run(t, env, "", "event", "logs", failed, "-f"); code != 1 {
			t.Fatalf("logs -f of a failed event exits %d", code)
		}
	})

	t.Run("CloneRetryDelete", func(t *testing.T) {
		out := brig(t, env, "", "event", "clone", passed, "--follow")
		clone := eventID(t, strings.SplitAfter(out, "\n")[0])
		if !strings.Contains(out, "[hello] hello from the job") {
			t.Fatalf("clone -f:\n%s", out)
		}
		var e core.Event
		decodeJSON(t, brig(t, env, "", "event", "get", clone, "-o", "json"), "Event", &e)
		if e.Labels[core.LabelCloneOf] != passed {
			t.Fatalf("clone labels %v", e.Labels)
		}
		out, _, code := run(t, env, "", "event", "retry", "-i", failed, "-f")
		if code != 1 || !strings.Contains(out, "[broken]") {
			t.Fatalf("retry -f: exit %d\n%s", code, out)
		}
		brig(t, env, "", "event", "delete", clone, "-y")
		stderr := brigFails(t, env, "", "event", "get", clone)
		if !strings.Contains(stderr, "not found") || !strings.Contains(stderr, "`brig event list` shows what exists") {
			t.Fatalf("deleted event: %s", stderr)
		}
		out = brig(t, env, "", "event", "delete-many", "-p", "cmds", "--failed", "-y")
		if !regexp.MustCompile(`^Deleted [1-9]\d* event\(s\) of project "cmds"\.\n$`).MatchString(out) {
			t.Fatalf("delete-many: %q", out)
		}
		if out := brig(t, env, "", "event", "list", "-p", "cmds", "--failed"); out != "No events found.\n" {
			t.Fatalf("after delete-many:\n%s", out)
		}
	})

	t.Run("Colour", func(t *testing.T) {
		var out, errOut bytes.Buffer
		getenv := func(k string) string { return env[k] }
		code := Run(context.Background(), Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
			Getenv: getenv, Color: true}, []string{"event", "logs", passed, "-f"})
		if code != 0 || !strings.Contains(out.String(), ansiGreen+"SUCCEEDED"+ansiReset) ||
			!strings.Contains(out.String(), "\x1b[36m[hello]"+ansiReset+" hello from the job") {
			t.Fatalf("exit %d, coloured output %q", code, out.String())
		}
		out.Reset()
		code = Run(context.Background(), Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
			Getenv: func(k string) string {
				if k == "NO_COLOR" {
					return "1"
				}
				return getenv(k)
			}, Color: true}, []string{"event", "logs", passed, "-f"})
		if code != 0 || strings.Contains(out.String(), "\x1b[") {
			t.Fatalf("NO_COLOR: exit %d, output %q", code, out.String())
		}
	})

	t.Run("Completion", func(t *testing.T) {
		out := brig(t, env, "", "__complete", "event", "get", "")
		if !strings.Contains(out, passed+"\tcmds brigade.sh/cli/exec SUCCEEDED") {
			t.Fatalf("event IDs:\n%s", out)
		}
		if out := brig(t, env, "", "__complete", "job", "list", "-i", ""); !strings.Contains(out, passed+"\t") {
			t.Fatalf("event IDs for -i:\n%s", out)
		}
		out = brig(t, env, "", "__complete", "event", "create", "-p", "c")
		if !strings.Contains(out, "cmds\tsecond") {
			t.Fatalf("project IDs:\n%s", out)
		}
		for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
			if out := brig(t, env, "", "completion", shell); !strings.Contains(out, "brig") || len(out) < 1000 {
				t.Errorf("completion %s: %d bytes", shell, len(out))
			}
		}
	})

	t.Run("WhoAmIAndVersion", func(t *testing.T) {
		if out := brig(t, env, "", "whoami"); !strings.Contains(out, "ROOT") || !strings.Contains(out, addr) {
			t.Fatalf("whoami: %q", out)
		}
		if out := brig(t, env, "", "version"); !strings.Contains(out, "Client version: v-test") || !strings.Contains(out, "Server version: ") {
			t.Fatalf("version: %q", out)
		}
	})
}

// TestCancelManyAndErrors uses a server whose events stay PENDING.
func TestCancelManyAndErrors(t *testing.T) {
	_, addr := startServer(t)
	ctx := context.Background()
	tok, err := client.New(addr, "").CreateRootSession(ctx, testRootPassword)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envConfig: filepath.Join(t.TempDir(), "config"), envServer: addr, envToken: tok.Value}
	project := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(project, []byte(projectYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	brig(t, env, "", "project", "create", "-f", project)
	for range 3 {
		brig(t, env, "", "event", "create", "-p", "demo")
	}
	if out := brig(t, env, "n\n", "event", "cancel-many", "-p", "demo"); !strings.Contains(out, "Nothing changed.") {
		t.Fatalf("declined: %q", out)
	}
	if out := brig(t, env, "y\n", "event", "cancel-many", "-p", "demo"); !strings.Contains(out, `Canceled 3 event(s) of project "demo".`) {
		t.Fatalf("cancel-many: %q", out)
	}
	if out := brig(t, env, "", "event", "list", "--canceled"); strings.Count(out, "CANCELED") != 3 {
		t.Fatalf("canceled:\n%s", out)
	}

	// A service account without roles is refused with what to do.
	sa := brig(t, env, "", "sa", "create", "-i", "nobody", "-d", "no roles", "-o", "json")
	var saTok core.Token
	decodeJSON(t, sa, "Token", &saTok)
	stderr := brigFails(t, map[string]string{envConfig: env[envConfig], envServer: addr, envToken: saTok.Value},
		"", "event", "create", "-p", "demo")
	if !strings.Contains(stderr, "not authorized") || !strings.Contains(stderr, "brig whoami") {
		t.Fatalf("refusal: %s", stderr)
	}

	// An unreachable server is named.
	stderr = brigFails(t, map[string]string{envConfig: env[envConfig], envServer: "http://127.0.0.1:1", envToken: "x"}, "", "project", "list")
	if !strings.Contains(stderr, "cannot reach the Brigade API server at http://127.0.0.1:1") {
		t.Fatalf("unreachable: %s", stderr)
	}

	// A project that breaks the schema lists each problem.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("metadata:\n  id: Bad_ID\nspec:\n  workerTemplate:\n    logLevel: LOUD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr = brigFails(t, env, "", "project", "create", "-f", bad)
	if !strings.Contains(stderr, "\n  0. ") || !strings.Contains(stderr, "\n  1. ") {
		t.Fatalf("validation: %s", stderr)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJobResult words every way a job can end.
func TestJobResult(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 1, 0, 0, time.UTC)
	start, end := now.Add(-time.Minute), now.Add(-30*time.Second)
	code := func(n int) *int { return &n }
	for _, tc := range []struct {
		spec core.JobSpec
		st   *core.JobStatus
		want string
	}{
		{core.JobSpec{}, nil, "not started"},
		{core.JobSpec{}, &core.JobStatus{Phase: core.PhaseSucceeded, ExitCode: code(0)}, "exit code 0"},
		{core.JobSpec{}, &core.JobStatus{Phase: core.PhaseFailed, ExitCode: code(3), Reason: "exit code 3"}, "non-zero exit code 3"},
		{core.JobSpec{}, &core.JobStatus{Phase: core.PhaseFailed, ExitCode: code(127), Reason: "exit code 127 (command not found; see the log)"},
			"non-zero exit code 127 (command not found; see the log)"},
		{core.JobSpec{}, &core.JobStatus{Phase: core.PhaseFailed, Reason: `cannot pull image "nope": not found`}, `cannot pull image "nope": not found`},
		{core.JobSpec{}, &core.JobStatus{Phase: core.PhaseFailed}, "failed; `brig event logs e -j j` may say why"},
		{core.JobSpec{TimeoutDuration: "30s"}, &core.JobStatus{Phase: core.PhaseTimedOut, Started: &start, Ended: &end}, "timed out after 30s"},
		{core.JobSpec{}, &core.JobStatus{Phase: core.PhaseTimedOut, Started: &start, Ended: &end}, "timed out after 30s"},
		{core.JobSpec{}, &core.JobStatus{Phase: core.PhaseCanceled}, "canceled"},
		{core.JobSpec{}, &core.JobStatus{Phase: core.PhaseAborted}, "aborted: its event was canceled or its worker ended first"},
		{core.JobSpec{}, &core.JobStatus{Phase: core.PhaseRunning, Started: &start}, "still running"},
	} {
		if got := jobResult("e", core.Job{Name: "j", Spec: tc.spec, Status: tc.st}, now); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.st, got, tc.want)
		}
	}
	for d, want := range map[time.Duration]string{
		850 * time.Millisecond: "850ms", 12300 * time.Millisecond: "12.3s", 245 * time.Second: "4m05s", 7380 * time.Second: "2h03m",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSpinnerWhileTheWorkerStarts shows the progress line on stderr while
// the event is PENDING, and erases it once the worker runs.
func TestSpinnerWhileTheWorkerStarts(t *testing.T) {
	srv, addr := startServer(t)
	ctx := context.Background()
	anon := client.New(addr, "")
	tok, err := anon.CreateRootSession(ctx, testRootPassword)
	if err != nil {
		t.Fatal(err)
	}
	root := anon.WithToken(tok.Value)
	if _, err := root.CreateProject(ctx, &core.Project{
		Metadata: core.ObjectMeta{ID: "spin"},
		Spec:     core.ProjectSpec{EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}}},
	}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envConfig: filepath.Join(t.TempDir(), "config"), envServer: addr, envToken: tok.Value}
	queued, stop := srv.Store().Subscribe(core.TopicQueue)
	defer stop()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Progress: true,
			Getenv: func(k string) string { return env[k] }}, []string{"event", "create", "-p", "spin", "--follow"})
	}()
	id := waitForPendingEvent(t, root, queued, "spin")
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(errOut.String(), "waiting for the worker to start (") {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line; stderr %q", errOut.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a buffer, not synchronising work
	}
	drive(t, srv, anon, id, core.PhaseSucceeded, "the worker ran")
	if code := <-done; code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %q", code, out.String(), errOut.String())
	}
	if !strings.HasSuffix(errOut.String(), "\r\x1b[K") || !strings.Contains(out.String(), "[worker] the worker ran") {
		t.Fatalf("stdout %q\nstderr %q", out.String(), errOut.String())
	}
}
