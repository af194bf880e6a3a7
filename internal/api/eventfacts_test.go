package api

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// TestStartJobReadsItsEventOnce: every job's launch carries its event's
// facts (project, workspace, privileges, pull secrets), read from the
// event for its first job only; later ones read just the worker's phase,
// which still refuses a job whose worker is no longer RUNNING.
func TestStartJobReadsItsEventOnce(t *testing.T) {
	st := openStore(t)
	heads := &atomic.Int64{}
	svc := New(headCounting{st, heads}, testSealer(), Config{}, nil)
	root := auth.With(t.Context(), auth.Root(""))
	if _, err := svc.CreateProject(root, &core.Project{Metadata: core.ObjectMeta{ID: "p"},
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "test", Types: []string{"run"}}},
			WorkerTemplate: core.WorkerSpec{UseWorkspace: true, JobPolicies: &core.JobPolicies{AllowPrivileged: true},
				Kubernetes: &core.WorkerKubernetes{ImagePullSecrets: []string{"pull"}}},
		}}); err != nil {
		t.Fatal(err)
	}
	evs, err := svc.CreateEvent(root, &core.Event{ProjectID: "p", Source: "test", Type: "run"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating an event: %v, %d events", err, len(evs))
	}
	id := evs[0].Metadata.ID
	scheduler := auth.With(t.Context(), auth.Scheduler())
	if _, err := svc.StartWorker(scheduler, id); err != nil {
		t.Fatal(err)
	}
	worker := auth.With(t.Context(), auth.Worker(id))
	for _, name := range []string{"j1", "j2", "j3"} {
		job := &core.Job{Name: name, Spec: core.JobSpec{PrimaryContainer: core.JobContainerSpec{
			ContainerSpec: core.ContainerSpec{Image: "debian", Command: []string{"true"}}}}}
		if err := svc.CreateJob(worker, id, job); err != nil {
			t.Fatalf("creating job %s: %v", name, err)
		}
	}
	check := func(l *core.JobLaunch, name string) {
		t.Helper()
		if l.EventID != id || l.Job == nil || l.Job.Name != name || l.ProjectID != "p" || !l.UseWorkspace ||
			!l.AllowPrivileged || !slices.Equal(l.ImagePullSecrets, []string{"pull"}) {
			t.Fatalf("launch of %s: %+v", name, l)
		}
		if l.Job.Status == nil || l.Job.Status.Phase != core.PhaseStarting {
			t.Fatalf("launch of %s: job status %+v", name, l.Job.Status)
		}
	}
	heads.Store(0)
	l1, err := svc.StartJob(scheduler, id, "j1")
	if err != nil {
		t.Fatal(err)
	}
	check(l1, "j1")
	l1.ImagePullSecrets[0] = "changed by a substrate"
	l2, err := svc.StartJob(scheduler, id, "j2")
	if err != nil {
		t.Fatal(err)
	}
	check(l2, "j2")
	if n := heads.Load(); n != 1 {
		t.Fatalf("two jobs' starts read their event %d times, want 1", n)
	}
	if _, err := svc.StartJob(scheduler, id, "j2"); !core.IsConflict(err) {
		t.Fatalf("starting a started job: %v", err)
	}

	// The worker ends, its job j3 still PENDING (the store alone moves it:
	// the service would move the job on too).
	now := time.Now()
	if err := st.Events().UpdateWorkerStatus(context.Background(), id, core.PhaseRunning,
		core.WorkerStatus{Phase: core.PhaseFailed, Started: &now, Ended: &now}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.StartJob(scheduler, id, "j3"); !core.IsConflict(err) {
		t.Fatalf("starting a job of an ended worker: %v", err)
	}
	if p, err := st.Jobs().Phase(context.Background(), id, "j3"); err != nil || p != core.PhasePending {
		t.Fatalf("the refused job: %s, %v", p, err)
	}
}
