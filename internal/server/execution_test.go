package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// runningServer is a server on the local substrate with a root client.
type runningServer struct {
	srv  *server.Server
	c    *client.Client
	dir  string
	stop func()
}

func startRunning(t *testing.T, dataDir string, cfg server.Config) *runningServer {
	t.Helper()
	cfg.DataDir, cfg.RootPassword = dataDir, rootPassword
	if cfg.CleanupDelay == 0 {
		cfg.CleanupDelay = time.Hour
	}
	srv, stop := testenv.Server(t, cfg)
	var opts []client.Option
	if cfg.TLSSelfSigned { // trust the server's certificate, as its workers do
		pem, err := os.ReadFile(filepath.Join(dataDir, "tls.crt"))
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, client.WithServerCert(pem))
	}
	c := client.New(srv.URL(), "", opts...)
	tok, err := c.CreateRootSession(t.Context(), rootPassword)
	if err != nil {
		t.Fatal(err)
	}
	return &runningServer{srv: srv, c: c.WithToken(tok.Value), dir: dataDir, stop: stop}
}

func (rs *runningServer) project(t *testing.T, id, script string, tweak func(*core.WorkerSpec)) {
	t.Helper()
	p := &core.Project{Metadata: core.ObjectMeta{ID: id}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
		WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
	}}
	if tweak != nil {
		tweak(&p.Spec.WorkerTemplate)
	}
	if _, err := rs.c.CreateProject(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

func (rs *runningServer) event(t *testing.T, project string) string {
	t.Helper()
	evs, err := rs.c.CreateEvent(t.Context(), &core.Event{ProjectID: project, Source: "brigade.sh/cli", Type: "exec"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("create event: %v", err)
	}
	return evs[0].Metadata.ID
}

// waitWorker waits for the worker to end and returns the event.
func (rs *runningServer) waitWorker(t *testing.T, id string) *core.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	st, errs := rs.c.WatchWorkerStatus(ctx, id)
	for range st {
	}
	if err := <-errs; err != nil {
		t.Fatalf("watching worker: %v", err)
	}
	ev, err := rs.c.GetEvent(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// waitJobPhase waits until a job reaches a phase (it may not exist yet).
func (rs *runningServer) waitJobPhase(t *testing.T, id, job string, want core.JobPhase) {
	t.Helper()
	changes, cancel := rs.srv.Store().Subscribe(core.TopicEvent(id))
	defer cancel()
	timeout := time.After(60 * time.Second)
	for {
		if j, err := rs.srv.Store().Jobs().Get(t.Context(), id, job); err == nil && j.Status.Phase == want {
			return
		}
		select {
		case <-changes:
		case <-timeout:
			t.Fatalf("job %s never reached %s", job, want)
		}
	}
}

func (rs *runningServer) logs(t *testing.T, id, job string) string {
	t.Helper()
	lines, errs := rs.c.Logs(t.Context(), id, client.LogOptions{Job: job})
	var sb strings.Builder
	for l := range lines {
		sb.WriteString(l.Message + "\n")
	}
	if err := <-errs; err != nil {
		t.Fatalf("logs: %v", err)
	}
	return sb.String()
}

const sleeperScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("sleeper", "debian:12-slim", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "echo sleeping; sleep 120"];
  await j.run();
});
events.process();`

func TestExecution(t *testing.T) {
	rs := startRunning(t, t.TempDir(), server.Config{})

	t.Run("CancelRunningEventAbortsWorkerAndJobs", func(t *testing.T) {
		rs.project(t, "cancel-me", sleeperScript, nil)
		id := rs.event(t, "cancel-me")
		rs.waitJobPhase(t, id, "sleeper", core.PhaseRunning)
		if err := rs.c.CancelEvent(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		ev := rs.waitWorker(t, id)
		if ev.Worker.Status.Phase != core.PhaseAborted || ev.Worker.Jobs[0].Status.Phase != core.PhaseAborted {
			t.Fatalf("after cancel: worker %s, job %s", ev.Worker.Status.Phase, ev.Worker.Jobs[0].Status.Phase)
		}
		rs.waitJobGone(t, id, "sleeper")
	})
	t.Run("WorkerTimeoutAbortsItsJobs", func(t *testing.T) {
		rs.project(t, "worker-timeout", sleeperScript, func(w *core.WorkerSpec) { w.TimeoutDuration = "1s" })
		id := rs.event(t, "worker-timeout")
		ev := rs.waitWorker(t, id)
		if ev.Worker.Status.Phase != core.PhaseTimedOut {
			t.Fatalf("worker %s, want TIMED_OUT", ev.Worker.Status.Phase)
		}
		rs.waitJobPhase(t, id, "sleeper", core.PhaseAborted)
	})
	t.Run("JobTimeoutKillsProcessesThatLeftItsGroup", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("processes that leave their group are only found through /proc")
		}
		pidFile := filepath.Join(t.TempDir(), "escaped.pid")
		rs.project(t, "escaper", fmt.Sprintf(`const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("escaper", "x", event);
  j.timeoutSeconds = 1;
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "setsid sh -c 'sleep 1000 & echo $! > %[1]s.tmp; mv %[1]s.tmp %[1]s; wait' & sleep 120"];
  await j.run();
});
events.process();`, pidFile), nil)
		id := rs.event(t, "escaper")
		rs.waitJobPhase(t, id, "escaper", core.PhaseTimedOut)
		deadline := time.Now().Add(time.Minute)
		var pid int
		for pid == 0 {
			b, err := os.ReadFile(pidFile)
			if err == nil {
				if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
					t.Fatal(err)
				}
			} else if time.Now().After(deadline) {
				t.Fatal("the job's escaped process never wrote its pid")
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
		// Gone, or a zombie until whoever adopted it reaps it.
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil || strings.Contains(string(b), ") Z ") {
				break
			}
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("process %d, which left the timed-out job's process group, still runs", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("LateJobGets409AndNeverRuns", func(t *testing.T) {
		rs.project(t, "finished", `console.log("nothing to do");`, nil)
		id := rs.event(t, "finished")
		if ev := rs.waitWorker(t, id); ev.Worker.Status.Phase != core.PhaseSucceeded {
			t.Fatalf("worker %s", ev.Worker.Status.Phase)
		}
		// The worker's token, as a worker process that outlived its script
		// would still hold it.
		b, err := os.ReadFile(filepath.Join(rs.dir, "events", id, "event.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc core.EventDocument
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		worker := client.New("http://"+rs.srv.Addr(), doc.Worker.APIToken)
		err = worker.CreateJob(t.Context(), id, &core.Job{Name: "late", Spec: core.JobSpec{
			PrimaryContainer: core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x", Command: []string{"true"}}}}})
		var conflict *core.ConflictError
		if !errors.As(err, &conflict) || !strings.Contains(conflict.Reason, "SUCCEEDED") {
			t.Fatalf("creating a job after the event succeeded: %v, want a 409 that says why", err)
		}
		if _, err := rs.c.GetJobStatus(t.Context(), id, "late"); !core.IsNotFound(err) {
			t.Fatalf("the late job exists: %v", err)
		}
		if n, err := rs.srv.Store().Queue().Len(t.Context(), core.TaskJob); err != nil || n != 0 {
			t.Fatalf("%d job tasks queued (%v)", n, err)
		}
	})
	t.Run("ScriptErrorsNameFileAndLine", func(t *testing.T) {
		rs.project(t, "broken", "const x = 1;\n\nnoSuchFunction(x);\n", nil)
		id := rs.event(t, "broken")
		ev := rs.waitWorker(t, id)
		log := rs.logs(t, id, "")
		if ev.Worker.Status.Phase != core.PhaseFailed || !strings.Contains(log, "brigade.js:3") {
			t.Fatalf("worker %s, log:\n%s", ev.Worker.Status.Phase, log)
		}
	})
	t.Run("FailingJobFailsTheWorker", func(t *testing.T) {
		rs.project(t, "failing", `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("fails", "x", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "echo to stderr >&2; exit 4"];
  await j.run();
});
events.process();`, nil)
		id := rs.event(t, "failing")
		ev := rs.waitWorker(t, id)
		if ev.Worker.Status.Phase != core.PhaseFailed || ev.Worker.Jobs[0].Status.Phase != core.PhaseFailed {
			t.Fatalf("worker %s, job %s", ev.Worker.Status.Phase, ev.Worker.Jobs[0].Status.Phase)
		}
		if log := rs.logs(t, id, "fails"); !strings.Contains(log, "to stderr") {
			t.Fatalf("job log lacks stderr:\n%s", log)
		}
		if log := rs.logs(t, id, ""); !strings.Contains(log, `Job "fails" failed`) {
			t.Fatalf("worker log:\n%s", log)
		}
	})
	t.Run("FastWriterLosesNoLines", func(t *testing.T) {
		rs.project(t, "chatty", `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("chatty", "x", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "i=1; while [ $i -le 20000 ]; do echo line $i; i=$((i+1)); done"];
  await j.run();
});
events.process();`, nil)
		id := rs.event(t, "chatty")
		if ev := rs.waitWorker(t, id); ev.Worker.Status.Phase != core.PhaseSucceeded {
			t.Fatalf("worker %s", ev.Worker.Status.Phase)
		}
		lines := strings.Split(strings.TrimSpace(rs.logs(t, id, "chatty")), "\n")
		var got []string
		for _, l := range lines {
			if strings.HasPrefix(l, "line ") {
				got = append(got, l)
			}
		}
		if len(got) != 20000 || got[0] != "line 1" || got[19999] != "line 20000" {
			t.Fatalf("got %d lines (first %q)", len(got), got[0])
		}
	})
}

// waitJobGone waits until a job's workload has ended on the substrate: the
// substrate closes its log stream only once the process is gone and every
// line it wrote is stored.
func (rs *runningServer) waitJobGone(t *testing.T, id, job string) {
	t.Helper()
	lines, cancel := rs.srv.Store().Subscribe(core.TopicLogs(id))
	defer cancel()
	timeout := time.After(60 * time.Second)
	for {
		closed, err := rs.srv.Store().Logs().IsClosed(t.Context(), core.LogStream{EventID: id, Job: job, Container: job})
		if err != nil {
			t.Fatal(err)
		}
		if closed {
			return
		}
		select {
		case <-lines:
		case <-timeout:
			t.Fatalf("job %s of event %s still runs", job, id)
		}
	}
}

func TestOneWorkerAtATime(t *testing.T) {
	rs := startRunning(t, t.TempDir(), server.Config{MaxWorkers: 1})
	rs.project(t, "serial", `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("nap", "x", event);
  j.primaryContainer.command = ["sleep"];
  j.primaryContainer.arguments = ["0.3"];
  await j.run();
});
events.process();`, nil)
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, rs.event(t, "serial"))
	}
	var evs []*core.Event
	for _, id := range ids {
		evs = append(evs, rs.waitWorker(t, id))
	}
	for i := 1; i < len(evs); i++ {
		prev, cur := evs[i-1].Worker.Status, evs[i].Worker.Status
		if cur.Started.Before(*prev.Ended) {
			t.Fatalf("worker %d started at %s before worker %d ended at %s", i, cur.Started, i-1, prev.Ended)
		}
	}
}

func TestRestartFinishesLostWork(t *testing.T) {
	dir := t.TempDir()
	rs := startRunning(t, dir, server.Config{})
	rs.project(t, "restart", sleeperScript, nil)
	id := rs.event(t, "restart")
	rs.waitJobPhase(t, id, "sleeper", core.PhaseRunning)
	rs.stop()

	rs2 := startRunning(t, dir, server.Config{})
	ev := rs2.waitWorker(t, id)
	if ev.Worker.Status.Phase != core.PhaseAborted || ev.Worker.Jobs[0].Status.Phase != core.PhaseAborted {
		t.Fatalf("after restart: worker %s job %s", ev.Worker.Status.Phase, ev.Worker.Jobs[0].Status.Phase)
	}
	if log := rs2.logs(t, id, ""); !strings.Contains(log, "server restarted") {
		t.Fatalf("worker log does not say why:\n%s", log)
	}
	if n, _ := rs2.c.RunningJobs(t.Context()); n != 0 {
		t.Fatalf("%d jobs running after restart", n)
	}
}
