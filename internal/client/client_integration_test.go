package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

const (
	rootPassword   = "integration-root-password"
	schedulerToken = "scheduler-token-0123456789abcdef"
	observerToken  = "observer-token-0123456789abcdef"
)

// startServer runs the real server in-process on a free port.
func startServer(t *testing.T) *server.Server {
	t.Helper()
	srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: rootPassword,
		SchedulerToken: schedulerToken, ObserverToken: observerToken, Version: "v-test", Commit: "c-test"})
	return srv
}

func collect[T any](vals <-chan T, errs <-chan error) ([]T, error) {
	var out []T
	for v := range vals {
		out = append(out, v)
	}
	return out, <-errs
}

func TestAgainstRealServer(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	anon := client.New("http://"+srv.Addr(), "")
	sched := anon.WithToken(schedulerToken)
	obs := anon.WithToken(observerToken)

	if p, err := anon.Ping(ctx); err != nil || p.Version != "v-test" {
		t.Fatalf("ping: %+v, %v", p, err)
	}
	if err := anon.Healthz(ctx); err != nil {
		t.Fatalf("healthz: %v", err)
	}

	// Login.
	var authn *core.AuthenticationError
	if _, err := anon.CreateRootSession(ctx, "wrong"); !errors.As(err, &authn) {
		t.Fatalf("wrong password: %v", err)
	}
	tok, err := anon.CreateRootSession(ctx, rootPassword)
	if err != nil {
		t.Fatal(err)
	}
	c := anon.WithToken(tok.Value)
	if who, err := c.WhoAmI(ctx); err != nil || who.Type != core.PrincipalTypeRoot {
		t.Fatalf("whoami: %+v, %v", who, err)
	}

	// Projects and secrets.
	project := &core.Project{
		Metadata:    core.ObjectMeta{ID: "demo"},
		Description: "Demo project",
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
			WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": "console.log('hi')"}},
		},
	}
	created, err := c.CreateProject(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if created.Metadata.Created == nil {
		t.Fatalf("created project has no created time: %+v", created)
	}
	if _, err := c.CreateProject(ctx, created); !core.IsConflict(err) {
		t.Fatalf("duplicate project: %v", err)
	}
	var nf *core.NotFoundError
	if _, err := c.GetProject(ctx, "nope"); !errors.As(err, &nf) || nf.Type != "Project" || nf.ID != "nope" {
		t.Fatalf("missing project: %#v", err)
	}
	created.Description = "Changed"
	if _, err := c.UpdateProject(ctx, created, false); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetProject(ctx, "demo"); err != nil || got.Description != "Changed" {
		t.Fatalf("get after update: %+v, %v", got, err)
	}
	if l, err := c.ListProjects(ctx, &client.ListOptions{Limit: 1}); err != nil || len(l.Items) != 1 || l.Items[0].Metadata.ID != "demo" {
		t.Fatalf("list projects: %+v, %v", l, err)
	}
	var bad *core.BadRequestError
	if _, err := c.ListProjects(ctx, &client.ListOptions{Limit: 1000}); !errors.As(err, &bad) {
		t.Fatalf("limit 1000: %v", err)
	}
	if err := c.SetSecret(ctx, "demo", core.Secret{Key: "token", Value: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if l, err := c.ListSecrets(ctx, "demo", nil); err != nil || len(l.Items) != 1 || l.Items[0].Key != "token" || l.Items[0].Value != "" {
		t.Fatalf("list secrets: %+v, %v", l, err)
	}
	if err := c.UnsetSecret(ctx, "demo", "token"); err != nil {
		t.Fatal(err)
	}

	// Events.
	newEvent := &core.Event{ProjectID: "demo", Source: "brigade.sh/cli", Type: "exec", Payload: "hello"}
	evs, err := c.CreateEvent(ctx, newEvent)
	if err != nil || len(evs) != 1 {
		t.Fatalf("create event: %+v, %v", evs, err)
	}
	id := evs[0].Metadata.ID
	if evs[0].Worker == nil || evs[0].Worker.Status.Phase != core.PhasePending {
		t.Fatalf("new event: %+v", evs[0])
	}
	if none, err := c.CreateEvent(ctx, &core.Event{ProjectID: "demo", Source: "brigade.sh/cli", Type: "other"}); err != nil || len(none) != 0 {
		t.Fatalf("unsubscribed event: %+v, %v", none, err)
	}
	if l, err := c.ListEvents(ctx, &client.EventSelector{ProjectID: "demo", WorkerPhases: []core.WorkerPhase{core.PhasePending}}, nil); err != nil || len(l.Items) != 1 || l.Items[0].Metadata.ID != id {
		t.Fatalf("list events: %+v, %v", l, err)
	}
	if l, err := c.ListEvents(ctx, &client.EventSelector{ProjectID: "demo", WorkerPhases: []core.WorkerPhase{core.PhaseRunning}}, nil); err != nil || len(l.Items) != 0 {
		t.Fatalf("list running events: %+v, %v", l, err)
	}
	got, err := c.GetEvent(ctx, id)
	if err != nil || got.Payload != "hello" || got.ProjectID != "demo" {
		t.Fatalf("get event: %+v, %v", got, err)
	}
	if err := c.UpdateSourceState(ctx, id, core.SourceState{State: map[string]string{"commitID": "abc"}}); err != nil {
		t.Fatal(err)
	}

	// The worker's life, as the scheduler, the observer and the worker see it.
	statuses, statusErrs := c.WatchWorkerStatus(ctx, id)
	if st := <-statuses; st.Phase != core.PhasePending {
		t.Fatalf("first watched status: %+v", st)
	}
	// The API hands a worker's token only to whoever starts it in-process
	// (the runner, which writes it into the worker's event.json); over HTTP
	// the scheduler only changes the state.
	launch, err := srv.Service().StartWorker(auth.With(ctx, auth.Scheduler()), id)
	if err != nil {
		t.Fatal(err)
	}
	var doc core.EventDocument
	if err := json.Unmarshal(launch.EventDocument, &doc); err != nil || doc.Worker.APIToken == "" {
		t.Fatalf("event document: %v: %s", err, launch.EventDocument)
	}
	worker := anon.WithToken(doc.Worker.APIToken)
	if err := sched.StartWorker(ctx, id); !core.IsConflict(err) {
		t.Fatalf("second start: %v", err)
	}
	if err := obs.UpdateWorkerStatus(ctx, id, core.WorkerStatus{Phase: core.PhaseRunning}); err != nil {
		t.Fatal(err)
	}
	if st, err := c.GetWorkerStatus(ctx, id); err != nil || st.Phase != core.PhaseRunning {
		t.Fatalf("worker status: %+v, %v", st, err)
	}
	now := time.Now().UTC()
	logs := srv.Store().Logs()
	stream := core.LogStream{EventID: id, Container: "worker"}
	if err := logs.Append(ctx, stream, []core.LogEntry{{Time: &now, Message: "line one"}, {Time: &now, Message: "line two"}}); err != nil {
		t.Fatal(err)
	}
	lines, err := collect(c.Logs(ctx, id, client.LogOptions{}))
	if err != nil || len(lines) != 2 || lines[0].Message != "line one" || lines[1].Message != "line two" {
		t.Fatalf("logs: %+v, %v", lines, err)
	}

	job := &core.Job{Name: "build", Spec: core.JobSpec{PrimaryContainer: core.JobContainerSpec{
		ContainerSpec: core.ContainerSpec{Image: "alpine", Command: []string{"echo", "hi"}, Environment: map[string]string{"A": "secret"}},
	}}}
	if err := c.CreateJob(ctx, id, job); err == nil {
		t.Fatal("root created a job; only the event's worker may")
	}
	if err := worker.CreateJob(ctx, id, job); err != nil {
		t.Fatal(err)
	}
	if err := worker.CreateJob(ctx, id, job); !core.IsConflict(err) {
		t.Fatalf("duplicate job: %v", err)
	}
	jobStatuses, jobErrs := c.WatchJobStatus(ctx, id, "build")
	if err := sched.StartJob(ctx, id, "build"); err != nil {
		t.Fatal(err)
	}
	if n, err := sched.RunningJobs(ctx); err != nil || n != 1 {
		t.Fatalf("running jobs after the start: %d, %v", n, err)
	}
	if err := obs.UpdateJobStatus(ctx, id, "build", core.JobStatus{Phase: core.PhaseRunning}); err != nil {
		t.Fatal(err)
	}
	if err := obs.TimeoutJob(ctx, id, "build"); err != nil {
		t.Fatal(err)
	}
	js, err := collect(jobStatuses, jobErrs)
	if err != nil || len(js) == 0 || js[len(js)-1].Phase != core.PhaseTimedOut {
		t.Fatalf("job watch: %+v, %v", js, err)
	}
	if st, err := c.GetJobStatus(ctx, id, "build"); err != nil || st.Phase != core.PhaseTimedOut {
		t.Fatalf("job status: %+v, %v", st, err)
	}
	if err := obs.CleanupJob(ctx, id, "build"); err != nil {
		t.Fatal(err)
	}
	if err := worker.UpdateSummary(ctx, id, "all done"); err != nil {
		t.Fatal(err)
	}
	if n, err := sched.RunningWorkers(ctx); err != nil || n != 1 {
		t.Fatalf("running workers: %d, %v", n, err)
	}
	if n, err := sched.RunningJobs(ctx); err != nil || n != 0 {
		t.Fatalf("running jobs after the timeout: %d, %v", n, err)
	}
	if err := obs.UpdateWorkerStatus(ctx, id, core.WorkerStatus{Phase: core.PhaseSucceeded}); err != nil {
		t.Fatal(err)
	}
	ws, err := collect(statuses, statusErrs)
	if err != nil || len(ws) == 0 || ws[len(ws)-1].Phase != core.PhaseSucceeded {
		t.Fatalf("worker watch: %+v, %v", ws, err)
	}
	if err := obs.CleanupWorker(ctx, id); err != nil {
		t.Fatal(err)
	}
	if due, err := srv.Store().Cleanups().Due(ctx, time.Now(), 100); err != nil || len(due) != 1 || due[0].EventID != id {
		t.Fatalf("cleanups due after CleanupWorker: %+v, %v", due, err)
	}
	if err := c.CancelEvent(ctx, id); !core.IsConflict(err) {
		t.Fatalf("cancel of a finished event: %v", err)
	}
	done, err := c.GetEvent(ctx, id)
	if err != nil || done.Summary != "all done" || len(done.Worker.Jobs) != 1 || done.Worker.Jobs[0].Spec.PrimaryContainer.Environment["A"] != core.Redacted {
		t.Fatalf("finished event: %+v, %v", done, err)
	}

	// Retry, clone, cancel, delete.
	retry, err := c.RetryEvent(ctx, id)
	if err != nil || retry.Labels[core.LabelRetryOf] != id {
		t.Fatalf("retry: %+v, %v", retry, err)
	}
	clone, err := c.CloneEvent(ctx, id)
	if err != nil || clone.Labels[core.LabelCloneOf] != id {
		t.Fatalf("clone: %+v, %v", clone, err)
	}
	if err := c.CancelEvent(ctx, retry.Metadata.ID); err != nil {
		t.Fatal(err)
	}
	if st, err := c.GetWorkerStatus(ctx, retry.Metadata.ID); err != nil || st.Phase != core.PhaseCanceled {
		t.Fatalf("canceled retry: %+v, %v", st, err)
	}
	if n, err := c.CancelManyEvents(ctx, client.EventSelector{ProjectID: "demo", WorkerPhases: []core.WorkerPhase{core.PhasePending}}); err != nil || n != 1 {
		t.Fatalf("cancel many: %d, %v", n, err)
	}
	if _, err := c.CancelManyEvents(ctx, client.EventSelector{}); !errors.As(err, &bad) {
		t.Fatalf("cancel many without project: %v", err)
	}
	if err := c.DeleteEvent(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEvent(ctx, id); !core.IsNotFound(err) {
		t.Fatalf("deleted event: %v", err)
	}
	if n, err := c.DeleteManyEvents(ctx, client.EventSelector{ProjectID: "demo", WorkerPhases: []core.WorkerPhase{core.PhaseCanceled}}); err != nil || n != 2 {
		t.Fatalf("delete many: %d, %v", n, err)
	}
	if err := c.DeleteProject(ctx, "demo"); err != nil {
		t.Fatal(err)
	}

	// Logout.
	if err := c.DeleteSession(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WhoAmI(ctx); !errors.As(err, &authn) {
		t.Fatalf("whoami after logout: %v", err)
	}
}

func TestStreamsAgainstRealServer(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	anon := client.New("http://"+srv.Addr(), "")
	tok, err := anon.CreateRootSession(ctx, rootPassword)
	if err != nil {
		t.Fatal(err)
	}
	c := anon.WithToken(tok.Value)
	if _, err := c.CreateProject(ctx, &core.Project{
		Metadata: core.ObjectMeta{ID: "streams"},
		Spec:     core.ProjectSpec{EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"*"}}}},
	}); err != nil {
		t.Fatal(err)
	}
	evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: "streams", Source: "brigade.sh/cli", Type: "exec"})
	if err != nil {
		t.Fatal(err)
	}
	id := evs[0].Metadata.ID

	t.Run("MissingEventIsNotFound", func(t *testing.T) {
		if _, err := collect(c.WatchWorkerStatus(ctx, "no-such-event")); !core.IsNotFound(err) {
			t.Fatalf("got %v", err)
		}
		if _, err := collect(c.Logs(ctx, "no-such-event", client.LogOptions{})); !core.IsNotFound(err) {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("CancelStopsAWatch", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		statuses, errs := c.WatchWorkerStatus(cctx, id)
		if st := <-statuses; st.Phase != core.PhasePending {
			t.Fatalf("got %+v", st)
		}
		cancel()
		if _, err := collect(statuses, errs); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("FollowedLogsEndWhenTheStreamCloses", func(t *testing.T) {
		sched := anon.WithToken(schedulerToken)
		obs := anon.WithToken(observerToken)
		if err := sched.StartWorker(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := obs.UpdateWorkerStatus(ctx, id, core.WorkerStatus{Phase: core.PhaseRunning}); err != nil {
			t.Fatal(err)
		}
		entries, errs := c.Logs(ctx, id, client.LogOptions{Follow: true})
		now := time.Now().UTC()
		store := srv.Store().Logs()
		stream := core.LogStream{EventID: id, Container: "worker"}
		for i, msg := range []string{"first", "second", "third"} {
			if err := store.Append(ctx, stream, []core.LogEntry{{Time: &now, Message: msg}}); err != nil {
				t.Fatal(err)
			}
			if e := <-entries; e.Message != msg {
				t.Fatalf("entry %d: %+v", i, e)
			}
		}
		if err := store.Close(ctx, stream); err != nil {
			t.Fatal(err)
		}
		if rest, err := collect(entries, errs); err != nil || len(rest) != 0 {
			t.Fatalf("after close: %+v, %v", rest, err)
		}
	})
}
