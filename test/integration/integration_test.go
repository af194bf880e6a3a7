// Package integration_test runs Brigade v2's integration scenarios end to
// end against a real server on the local substrate: projects that clone
// their source from a git repository served over HTTP by the test (by
// default branch, full ref, short ref, commit, with submodules, private
// with a password, and a missing branch whose error is read from the vcs
// log), jobs that fail, time out or are fallible, a worker that times out,
// and an event no project subscribes to. Each case asserts what Brigade's
// own suite asserted for it: final phases of the worker and jobs, and a
// string in the right log.
//
// workerimage_test.go adds one case of ours on the docker substrate: a
// worker image of a project with git finds its checkout at /var/vcs.
package integration_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// deadline bounds each wait; generous, since a busy machine may be slow.
// It only keeps a broken run from hanging.
const deadline = 3 * time.Minute

// listJob is a script whose one job, "test-job", lists the event's source
// as mounted at /var/vcs, with ls arguments args.
func listJob(args ...string) string {
	return `import { events, Job } from "@brigadecore/brigadier"

events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("test-job", "alpine", event)
  job.primaryContainer.sourceMountPath = "/var/vcs"
  job.primaryContainer.workingDirectory = "/var/vcs"
  job.primaryContainer.command = ["ls"]
  job.primaryContainer.arguments = ` + jsStrings(args) + `
  await job.run()
})

events.process()
`
}

func jsStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = `"` + s + `"`
	}
	return "[" + strings.Join(q, ", ") + "]"
}

const failingJob = `import { events, Job } from "@brigadecore/brigadier"

events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("test-job", "alpine", event)
  job.primaryContainer.command = ["sh"]
  job.primaryContainer.arguments = ["-c", "echo Goodbye World && exit 1"]
  await job.run()
})

events.process()
`

const jobTimesOut = `import { events, Job } from "@brigadecore/brigadier"

events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("test-job", "alpine", event)
  job.primaryContainer.command = ["sleep"]
  job.primaryContainer.arguments = ["60"]
  job.timeoutSeconds = 1.005
  await job.run()
})

events.process()
`

const workerTimesOut = `import { events, Job } from "@brigadecore/brigadier"

events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("test-job", "alpine", event)
  job.primaryContainer.command = ["sleep"]
  job.primaryContainer.arguments = ["60"]
  await job.run()
})

events.process()
`

const fallibleFirst = `import { events, Job } from "@brigadecore/brigadier"

events.on("brigade.sh/cli", "exec", async event => {
  const first = new Job("test-job1", "alpine", event)
  first.primaryContainer.command = ["false"]
  first.fallible = true
  await first.run()

  const second = new Job("test-job2", "alpine", event)
  second.primaryContainer.command = ["true"]
  await second.run()
})

events.process()
`

const helloWorld = `import { events } from "@brigadecore/brigadier"

events.on("brigade.sh/cli", "exec", async event => {
  console.log("Hello, " + event.payload + "!")
  console.log("the secret is " + event.project.secrets.greeting)
  console.log("the secret spelled backwards is " + event.project.secrets.greeting.split("").reverse().join(""))
})

events.process()
`

// sources are the repositories the cases clone.
type sources struct {
	testbed  string // README.md, then CHANGELOG.md, then submodule sub/
	first    string // testbed's first commit: README.md only
	private  string // like testbed, behind a password
	password string
}

// serveSources publishes the repositories on a local git server.
func serveSources(t *testing.T) sources {
	gs := newGitServer(t)
	sub := gs.newRepo(t)
	sub.commit("submodule", map[string]string{"SUBMODULE.md": "from a submodule\n"})
	subURL := gs.publish(t, sub, "sub.git")

	tb := gs.newRepo(t)
	first := tb.commit("readme", map[string]string{"README.md": "# empty testbed\n"})
	tb.commit("changelog", map[string]string{"CHANGELOG.md": "later\n"})
	runGit(t, tb.dir, "submodule", "add", "-q", subURL, "sub")
	runGit(t, tb.dir, "commit", "-q", "-m", "submodule")

	priv := gs.newRepo(t)
	priv.commit("readme", map[string]string{"README.md": "# private testbed\n"})
	return sources{
		testbed: gs.publish(t, tb, "testbed.git"), first: first,
		private: gs.publish(t, priv, "private/testbed.git"), password: privatePassword,
	}
}

// scenario is one of Brigade's integration cases.
type scenario struct {
	name    string
	git     *core.GitConfig
	script  string
	timeout string            // the worker's timeoutDuration
	secrets map[string]string // set before the event
	payload string
	// unsubscribed: the project subscribes to nothing, so the event makes
	// no copy for it.
	unsubscribed bool
	check        func(t *testing.T, e *eventRun)
}

func TestBrigadeIntegrationCases(t *testing.T) {
	src := serveSources(t)
	srv, _ := testenv.Server(t, server.Config{RootPassword: "integration-password", CleanupDelay: time.Hour})
	c, err := testenv.RootClient(t.Context(), srv, "integration-password")
	if err != nil {
		t.Fatal(err)
	}
	sourceListed := func(t *testing.T, e *eventRun) {
		e.workerPhase(core.PhaseSucceeded)
		e.logContains(client.LogOptions{}, "brigade-worker version")
		e.jobPhase("test-job", core.PhaseSucceeded)
		e.logContains(client.LogOptions{Job: "test-job"}, "README.md")
		// The job's vcs container (it has a sourceMountPath) can be read,
		// as in Brigade; it shares the worker's checkout, so it is empty.
		e.logText(client.LogOptions{Job: "test-job", Container: "vcs"})
	}
	cases := []scenario{
		{name: "HelloWorld", script: helloWorld, payload: "world", secrets: map[string]string{"greeting": "opensesame"},
			check: func(t *testing.T, e *eventRun) {
				e.workerPhase(core.PhaseSucceeded)
				e.logContains(client.LogOptions{}, "Hello, world!")
				// The log masks the secret (docs/security.md); the worker saw it.
				e.logContains(client.LogOptions{}, "the secret is ***")
				e.logContains(client.LogOptions{}, "the secret spelled backwards is emasesnepo")
			}},
		{name: "GitNoRef", git: &core.GitConfig{CloneURL: src.testbed}, script: listJob("-haltr"), check: sourceListed},
		{name: "GitFullRef", git: &core.GitConfig{CloneURL: src.testbed, Ref: "refs/heads/main"}, script: listJob("-haltr"), check: sourceListed},
		{name: "GitShortRef", git: &core.GitConfig{CloneURL: src.testbed, Ref: "main"}, script: listJob("-haltr"), check: sourceListed},
		{name: "GitCommit", git: &core.GitConfig{CloneURL: src.testbed, Commit: src.first}, script: listJob("-haltr"),
			check: func(t *testing.T, e *eventRun) {
				sourceListed(t, e)
				if log := e.logText(client.LogOptions{Job: "test-job"}); strings.Contains(log, "CHANGELOG.md") {
					t.Errorf("the checkout of the first commit lists a file of a later one:\n%s", log)
				}
			}},
		{name: "GitSubmodules", git: &core.GitConfig{CloneURL: src.testbed, InitSubmodules: true}, script: listJob("-haltr", ".", "sub"),
			check: func(t *testing.T, e *eventRun) {
				sourceListed(t, e)
				e.logContains(client.LogOptions{Job: "test-job"}, "SUBMODULE.md")
			}},
		{name: "GitPrivateOverHTTPS", git: &core.GitConfig{CloneURL: src.private, Ref: "main"}, script: listJob("-haltr"),
			secrets: map[string]string{"gitPassword": src.password}, check: sourceListed},
		// Not one of Brigade's: shows that the private repository is.
		{name: "GitPrivateWithoutPasswordFails", git: &core.GitConfig{CloneURL: src.private, Ref: "main"}, script: listJob("-haltr"),
			check: func(t *testing.T, e *eventRun) {
				e.workerPhase(core.PhaseFailed)
				e.logContains(client.LogOptions{Container: "vcs"}, "could not read Username")
			}},
		{name: "GitMissingBranchFailsInTheVCSLog", git: &core.GitConfig{CloneURL: src.testbed, Ref: "non-existent"}, script: listJob("-haltr"),
			check: func(t *testing.T, e *eventRun) {
				e.workerPhase(core.PhaseFailed)
				e.logContains(client.LogOptions{Container: "vcs"}, "Remote branch non-existent not found in upstream origin")
				e.logContains(client.LogOptions{}, "vcs log")
			}},
		{name: "JobFails", git: &core.GitConfig{CloneURL: src.testbed}, script: failingJob,
			check: func(t *testing.T, e *eventRun) {
				e.workerPhase(core.PhaseFailed)
				e.logContains(client.LogOptions{}, "brigade-worker version")
				e.jobPhase("test-job", core.PhaseFailed)
				e.logContains(client.LogOptions{Job: "test-job"}, "Goodbye World")
			}},
		{name: "JobTimesOut", script: jobTimesOut,
			check: func(t *testing.T, e *eventRun) {
				e.workerPhase(core.PhaseFailed)
				e.logContains(client.LogOptions{}, "brigade-worker version")
				e.jobPhase("test-job", core.PhaseTimedOut)
			}},
		{name: "WorkerTimesOut", script: workerTimesOut, timeout: "10s",
			check: func(t *testing.T, e *eventRun) {
				e.workerPhase(core.PhaseTimedOut)
				e.jobPhase("test-job", core.PhaseAborted)
			}},
		{name: "ProjectNotSubscribed", unsubscribed: true},
		{name: "FallibleJobFails", script: fallibleFirst,
			check: func(t *testing.T, e *eventRun) {
				e.workerPhase(core.PhaseSucceeded)
				e.logContains(client.LogOptions{}, "brigade-worker version")
				e.jobPhase("test-job1", core.PhaseFailed)
				e.jobPhase("test-job2", core.PhaseSucceeded)
			}},
	}
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, c, sc) })
	}
}

// runScenario creates the case's project, sends it an exec event from the
// CLI's source and checks the outcome.
func runScenario(t *testing.T, c *client.Client, sc scenario) {
	ctx := t.Context()
	id := strings.ToLower(sc.name)
	p := &core.Project{Metadata: core.ObjectMeta{ID: id}, Description: "integration case " + sc.name}
	if !sc.unsubscribed {
		p.Spec.EventSubscriptions = []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}}
		p.Spec.WorkerTemplate = core.WorkerSpec{Git: sc.git, TimeoutDuration: sc.timeout,
			DefaultConfigFiles: map[string]string{"brigade.ts": sc.script}}
	}
	if _, err := c.CreateProject(ctx, p); err != nil {
		t.Fatalf("creating project %s: %v", id, err)
	}
	t.Cleanup(func() { c.DeleteProject(context.Background(), id) })
	for k, v := range sc.secrets {
		if err := c.SetSecret(ctx, id, core.Secret{Key: k, Value: v}); err != nil {
			t.Fatalf("setting secret %s: %v", k, err)
		}
	}
	if list, err := c.ListEvents(ctx, &client.EventSelector{ProjectID: id}, nil); err != nil || len(list.Items) != 0 {
		t.Fatalf("a new project has events: %v, %v", list, err)
	}
	evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: id, Source: "brigade.sh/cli", Type: "exec", Payload: sc.payload})
	if err != nil {
		t.Fatalf("creating the event: %v", err)
	}
	if sc.unsubscribed {
		if len(evs) != 0 {
			t.Fatalf("a project that subscribes to nothing got %d events", len(evs))
		}
		return
	}
	if len(evs) != 1 {
		t.Fatalf("want 1 event for project %s, got %d", id, len(evs))
	}
	sc.check(t, &eventRun{t: t, c: c, id: evs[0].Metadata.ID})
}

// eventRun checks one event's outcome.
type eventRun struct {
	t  *testing.T
	c  *client.Client
	id string
}

// workerPhase waits for the worker's terminal phase and checks it.
// finalPhase follows the event's worker until its status stream ends and
// returns the last phase it showed.
func finalPhase(ctx context.Context, t *testing.T, c *client.Client, id string) core.WorkerPhase {
	t.Helper()
	statuses, errs := c.WatchWorkerStatus(ctx, id)
	var phase core.WorkerPhase
	for st := range statuses {
		phase = st.Phase
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	return phase
}

func (e *eventRun) workerPhase(want core.WorkerPhase) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), deadline)
	defer cancel()
	vals, errs := e.c.WatchWorkerStatus(ctx, e.id)
	terminal(e, "the worker", vals, errs, func(s core.WorkerStatus) core.WorkerPhase { return s.Phase }, want)
}

// jobPhase waits for the job's terminal phase and checks it.
func (e *eventRun) jobPhase(job string, want core.JobPhase) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), deadline)
	defer cancel()
	vals, errs := e.c.WatchJobStatus(ctx, e.id, job)
	terminal(e, "job "+job, vals, errs, func(s core.JobStatus) core.JobPhase { return s.Phase }, want)
}

// terminal reads a status watch to its end and checks its last phase.
func terminal[S any](e *eventRun, what string, vals <-chan S, errs <-chan error, phase func(S) core.WorkerPhase, want core.WorkerPhase) {
	e.t.Helper()
	var last core.WorkerPhase
	for v := range vals {
		last = phase(v)
	}
	if err := <-errs; err != nil {
		e.t.Fatalf("watching %s of event %s: %v", what, e.id, err)
	}
	if !last.IsTerminal() {
		e.t.Fatalf("%s of event %s: the watch ended in phase %q", what, e.id, last)
	}
	if last != want {
		e.t.Errorf("%s of event %s ended %s, want %s\nworker log:\n%s", what, e.id, last, want, e.logText(client.LogOptions{}))
	}
}

// logText reads a log to its end, following it until its writer is done.
func (e *eventRun) logText(opts client.LogOptions) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), deadline)
	defer cancel()
	opts.Follow = true
	lines, errs := e.c.Logs(ctx, e.id, opts)
	var sb strings.Builder
	for l := range lines {
		sb.WriteString(l.Message + "\n")
	}
	if err := <-errs; err != nil {
		e.t.Fatalf("reading the log %+v of event %s: %v", opts, e.id, err)
	}
	return sb.String()
}

// logContains checks that a log has a line containing want.
func (e *eventRun) logContains(opts client.LogOptions, want string) {
	e.t.Helper()
	if log := e.logText(opts); !strings.Contains(log, want) {
		e.t.Errorf("the log %+v of event %s does not contain %q:\n%s", opts, e.id, want, log)
	}
}
