package storetest

import (
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func jobCases() []testCase {
	return []testCase{
		{"Jobs/CreateThenGetRoundTrips", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			want := newJob("build")
			want.Spec.SidecarContainers = map[string]core.JobContainerSpec{"db": {ContainerSpec: core.ContainerSpec{Image: "postgres"}}}
			want.Spec.Host = &core.JobHost{OS: "linux", NodeSelector: map[string]string{"disk": "ssd"}}
			want.Spec.Fallible = true
			want.Status.Started = ptr(base.Add(time.Second))
			must(t, s.Jobs().Create(t.Context(), "e1", want), "create job")
			got, err := s.Jobs().Get(t.Context(), "e1", "build")
			must(t, err, "get job")
			wantTime(t, got.Created, base, "created")
			wantTime(t, got.Status.Started, base.Add(time.Second), "started")
			got.Created, want.Created = nil, nil
			got.Status.Started, want.Status.Started = nil, nil
			wantEqual(t, got, want, "stored job")
		}},
		{"Jobs/ListKeepsCreationOrder", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkEvent(t, s, "demo", "e2", base)
			for _, n := range []string{"zeta", "alpha", "mid"} {
				mkJob(t, s, "e1", n)
			}
			mkJob(t, s, "e2", "other")
			jobs, err := s.Jobs().List(t.Context(), "e1")
			must(t, err, "list jobs")
			wantEqual(t, jobNames(jobs), []string{"zeta", "alpha", "mid"}, "job order")
		}},
		{"Jobs/ListOfAnEventWithoutJobsIsEmpty", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			jobs, err := s.Jobs().List(t.Context(), "e1")
			must(t, err, "list jobs")
			wantEqual(t, len(jobs), 0, "jobs")
		}},
		{"Jobs/ListOfAMissingEventIsNotFound", func(t *testing.T, s core.Store) {
			_, err := s.Jobs().List(t.Context(), "nope")
			wantNotFound(t, err, "Event")
		}},
		{"Jobs/CreateDuplicateNameIsConflict", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkEvent(t, s, "demo", "e2", base)
			mkJob(t, s, "e1", "build")
			wantConflict(t, s.Jobs().Create(t.Context(), "e1", newJob("build")))
			mkJob(t, s, "e2", "build") // the same name in another event is fine
		}},
		{"Jobs/CreateForMissingEventIsNotFound", func(t *testing.T, s core.Store) {
			wantNotFound(t, s.Jobs().Create(t.Context(), "nope", newJob("build")), "Event")
		}},
		{"Jobs/GetMissingIsNotFound", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			_, err := s.Jobs().Get(t.Context(), "e1", "nope")
			wantNotFound(t, err, "Job")
		}},
		{"Jobs/ReplaceOverwritesAndKeepsPosition", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkJob(t, s, "e1", "first")
			mkJob(t, s, "e1", "second")
			repl := newJob("first")
			repl.Created = ptr(base.Add(time.Hour))
			repl.Spec.PrimaryContainer.Image = "busybox"
			repl.Status = &core.JobStatus{Phase: core.PhaseSucceeded, LogsEventID: "e0"}
			must(t, s.Jobs().Replace(ctx, "e1", repl), "replace job")
			got, err := s.Jobs().Get(ctx, "e1", "first")
			must(t, err, "get job")
			wantEqual(t, got.Spec.PrimaryContainer.Image, "busybox", "image")
			wantEqual(t, got.Status, repl.Status, "status")
			wantTime(t, got.Created, base.Add(time.Hour), "created")
			jobs, err := s.Jobs().List(ctx, "e1")
			must(t, err, "list jobs")
			wantEqual(t, jobNames(jobs), []string{"first", "second"}, "job order")
			wantNotFound(t, s.Jobs().Replace(ctx, "e1", newJob("nope")), "Job")
		}},
		{"Jobs/UpdateStatusIsCompareAndSet", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkJob(t, s, "e1", "build")
			started := base.Add(time.Minute)
			must(t, s.Jobs().UpdateStatus(ctx, "e1", "build", core.PhasePending,
				core.JobStatus{Phase: core.PhaseRunning, Started: &started}), "PENDING -> RUNNING")
			wantConflict(t, s.Jobs().UpdateStatus(ctx, "e1", "build", core.PhasePending,
				core.JobStatus{Phase: core.PhaseCanceled}))
			got, err := s.Jobs().Get(ctx, "e1", "build")
			must(t, err, "get job")
			wantEqual(t, got.Status.Phase, core.PhaseRunning, "phase after the failed compare-and-set")
			wantTime(t, got.Status.Started, started, "started")
			wantEqual(t, got.Spec, newJob("build").Spec, "spec untouched")
			ev, err := s.Events().Get(ctx, "e1")
			must(t, err, "get event")
			wantEqual(t, ev.Worker.Jobs[0].Status.Phase, core.PhaseRunning, "phase seen through the event")
			wantNotFound(t, s.Jobs().UpdateStatus(ctx, "e1", "nope", core.PhasePending,
				core.JobStatus{Phase: core.PhaseRunning}), "Job")
		}},
	}
}
