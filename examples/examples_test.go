package examples_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/brigadeplatform/brigade/examples"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// platform is a real server on the local substrate, logged in as root.
func platform(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), RootPassword: "examples-password",
		CleanupDelay: time.Hour,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	c := client.New("http://"+srv.Addr(), "")
	tok, err := c.CreateRootSession(ctx, "examples-password")
	if err != nil {
		t.Fatal(err)
	}
	return c.WithToken(tok.Value)
}

// runExample creates the example's project, sends it an event and waits for
// the worker to finish.
func runExample(t *testing.T, c *client.Client, name, payload string, secrets map[string]string) *core.Event {
	t.Helper()
	ctx := t.Context()
	b, err := examples.FS.ReadFile(name + "/project.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p core.Project
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatalf("examples/%s/project.yaml: %v", name, err)
	}
	if _, err := c.CreateProject(ctx, &p); err != nil {
		t.Fatalf("creating project: %v", err)
	}
	for k, v := range secrets {
		if err := c.SetSecret(ctx, p.Metadata.ID, core.Secret{Key: k, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: p.Metadata.ID, Source: "brigade.sh/cli", Type: "exec", Payload: payload})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating event: %v (%d events)", err, len(evs))
	}
	id := evs[0].Metadata.ID
	// A generous deadline: the examples run side by side on what may be a
	// busy machine; it only keeps a broken run from hanging.
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	statuses, errs := c.WatchWorkerStatus(wctx, id)
	for range statuses {
	}
	if err := <-errs; err != nil {
		t.Fatalf("watching the worker: %v", err)
	}
	ev, err := c.GetEvent(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func logText(t *testing.T, c *client.Client, eventID, job string) string {
	t.Helper()
	lines, errs := c.Logs(t.Context(), eventID, client.LogOptions{Job: job})
	var sb strings.Builder
	for l := range lines {
		sb.WriteString(l.Message + "\n")
	}
	if err := <-errs; err != nil {
		t.Fatalf("reading logs of %q: %v", job, err)
	}
	return sb.String()
}

// checkCreatedBefore checks that, in order (the jobs as created), each
// pair's first job comes before its second.
func checkCreatedBefore(t *testing.T, order []string, pairs [][2]string) {
	t.Helper()
	at := map[string]int{}
	for i, name := range order {
		at[name] = i
	}
	for _, p := range pairs {
		a, okA := at[p[0]]
		b, okB := at[p[1]]
		switch {
		case !okA || !okB:
			t.Errorf("jobs created %v: want both %s and %s", order, p[0], p[1])
		case a > b:
			t.Errorf("jobs created in order %v: %s must be created before %s", order, p[0], p[1])
		}
	}
}

func TestExamples(t *testing.T) {
	c := platform(t)
	cases := []struct {
		example string
		payload string
		secrets map[string]string
		phase   core.WorkerPhase
		jobs    map[string]core.JobPhase
		worker  []string            // substrings of the worker log
		jobLogs map[string][]string // substrings of each job's log
		summary string
		// before lists pairs {a, b}: job a must be created before job b.
		// Only what the script guarantees (a sequence): jobs it runs
		// concurrently are created in any order.
		before [][2]string
		check  func(*testing.T, *core.Event) // anything else
	}{
		{example: "hello-world", phase: core.PhaseSucceeded, worker: []string{"brigade-worker version", "Hello, World!"}},
		{example: "first-job", phase: core.PhaseSucceeded, jobs: map[string]core.JobPhase{"hello": core.PhaseSucceeded},
			jobLogs: map[string][]string{"hello": {"Hello, World!", "is not pulled"}}, summary: "the job ran"},
		{example: "pipeline", phase: core.PhaseSucceeded,
			jobs:    map[string]core.JobPhase{"build": core.PhaseSucceeded, "test": core.PhaseSucceeded, "deploy": core.PhaseSucceeded},
			jobLogs: map[string][]string{"deploy": {"deploy starts", "deploy done"}},
			before:  [][2]string{{"build", "test"}, {"test", "deploy"}}},
		{example: "concurrent-groups", phase: core.PhaseSucceeded,
			jobs: map[string]core.JobPhase{"alpha": core.PhaseSucceeded, "beta": core.PhaseSucceeded,
				"gamma": core.PhaseSucceeded, "delta": core.PhaseSucceeded},
			worker: []string{"Creating job alpha", "Creating job gamma"},
			// Two sequences side by side: alpha then beta, gamma then
			// delta; nothing orders one sequence against the other.
			before: [][2]string{{"alpha", "beta"}, {"gamma", "delta"}}},
		{example: "shared-workspace", phase: core.PhaseSucceeded,
			jobs:    map[string]core.JobPhase{"writer": core.PhaseSucceeded, "reader": core.PhaseSucceeded},
			jobLogs: map[string][]string{"reader": {"left by the writer"}}},
		{example: "payload", payload: `{"who":"Ada"}`, phase: core.PhaseSucceeded,
			jobs:    map[string]core.JobPhase{"greet": core.PhaseSucceeded},
			worker:  []string{"project payload got a payload for Ada"},
			jobLogs: map[string][]string{"greet": {"Hello, Ada!"}}},
		{example: "secrets", secrets: map[string]string{"greeting": "hunter2"}, phase: core.PhaseSucceeded,
			jobs:    map[string]core.JobPhase{"use-secret": core.PhaseSucceeded},
			jobLogs: map[string][]string{"use-secret": {"the secret has 7 characters"}}},
		{example: "typescript", phase: core.PhaseSucceeded,
			jobs:    map[string]core.JobPhase{"first": core.PhaseSucceeded, "second": core.PhaseSucceeded},
			jobLogs: map[string][]string{"second": {"run in order"}}},
		{example: "fallible", phase: core.PhaseSucceeded,
			jobs:    map[string]core.JobPhase{"flaky": core.PhaseFailed, "after": core.PhaseSucceeded},
			jobLogs: map[string][]string{"flaky": {"about to fail"}, "after": {"still running"}}},
		{example: "timeout", phase: core.PhaseFailed,
			jobs:    map[string]core.JobPhase{"slow": core.PhaseTimedOut},
			worker:  []string{`Job "slow" timed out`},
			jobLogs: map[string][]string{"slow": {"this will take a while"}}},
		{example: "v1-greeting", phase: core.PhaseSucceeded,
			jobs: map[string]core.JobPhase{"greeting": core.PhaseSucceeded},
			jobLogs: map[string][]string{"greeting": {"Hello", "World", `host.name "builder-1"`,
				"resource requests cpu=100m,memory=64Mi"}},
			check: func(t *testing.T, ev *core.Event) {
				spec := ev.Worker.Jobs[0].Spec
				if spec.Host == nil || spec.Host.Name != "builder-1" || spec.PrimaryContainer.Resources == nil ||
					spec.PrimaryContainer.Resources.Requests.CPU != "100m" {
					t.Errorf("host.name and resourceRequests not recorded on the job: %+v", spec)
				}
			}},
		{example: "v1-pipeline", phase: core.PhaseSucceeded,
			jobs:    map[string]core.JobPhase{"first": core.PhaseSucceeded, "second": core.PhaseSucceeded},
			before:  [][2]string{{"first", "second"}},
			jobLogs: map[string][]string{"second": {"the second job got: a message from the first job"}},
			worker:  []string{"pipeline output: the second job got: a message from the first job"}},
		{example: "quickstart", phase: core.PhaseSucceeded, summary: "fetched, built and tested",
			jobs: map[string]core.JobPhase{"fetch": core.PhaseSucceeded, "build": core.PhaseSucceeded,
				"test-unit": core.PhaseSucceeded, "test-lint": core.PhaseSucceeded},
			before: [][2]string{{"fetch", "build"}, {"build", "test-unit"}, {"build", "test-lint"}}},
	}
	for _, tc := range cases {
		t.Run(tc.example, func(t *testing.T) {
			t.Parallel()
			ev := runExample(t, c, tc.example, tc.payload, tc.secrets)
			workerLog := logText(t, c, ev.Metadata.ID, "")
			if ev.Worker.Status.Phase != tc.phase {
				t.Fatalf("worker %s, want %s\nworker log:\n%s", ev.Worker.Status.Phase, tc.phase, workerLog)
			}
			if ev.Worker.Status.Started == nil || ev.Worker.Status.Ended == nil {
				t.Errorf("worker status lacks times: %+v", ev.Worker.Status)
			}
			got := map[string]core.JobPhase{}
			var order []string
			for _, j := range ev.Worker.Jobs {
				got[j.Name] = j.Status.Phase
				order = append(order, j.Name)
			}
			if len(got) != len(tc.jobs) {
				t.Fatalf("jobs %v, want %v\nworker log:\n%s", got, tc.jobs, workerLog)
			}
			for name, want := range tc.jobs {
				if got[name] != want {
					t.Errorf("job %s %s, want %s", name, got[name], want)
				}
			}
			checkCreatedBefore(t, order, tc.before)
			for _, want := range tc.worker {
				if !strings.Contains(workerLog, want) {
					t.Errorf("worker log lacks %q:\n%s", want, workerLog)
				}
			}
			for job, wants := range tc.jobLogs {
				text := logText(t, c, ev.Metadata.ID, job)
				for _, want := range wants {
					if !strings.Contains(text, want) {
						t.Errorf("log of job %s lacks %q:\n%s", job, want, text)
					}
				}
			}
			if ev.Summary != tc.summary {
				t.Errorf("summary %q, want %q", ev.Summary, tc.summary)
			}
			if tc.check != nil {
				tc.check(t, ev)
			}
		})
	}
}
