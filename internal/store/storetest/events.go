package storetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func fullEvent(projectID, id string) *core.Event {
	e := newEvent(projectID, id, base)
	e.SourceState = &core.SourceState{State: map[string]string{"cursor": "42"}}
	e.Qualifiers = map[string]string{"repo": "demo"}
	e.Labels = map[string]string{"brigade.sh/cloneOf": "x", "team": "a"}
	e.ShortTitle, e.LongTitle = "short", "a longer title"
	e.Git = &core.GitDetails{CloneURL: "https://example.com/demo.git", Commit: "abc123", Ref: "refs/heads/main"}
	e.Payload = `{"hello":"world"}`
	e.Summary = "all good"
	e.Worker.Spec.Git = &core.GitConfig{CloneURL: "https://example.com/demo.git", Commit: "abc123"}
	e.Worker.Status = core.WorkerStatus{Phase: core.PhaseRunning, Started: ptr(base.Add(time.Second))}
	return e
}

func eventCases() []testCase {
	return []testCase{
		{"Events/CreateThenGetRoundTrips", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			want := fullEvent("demo", "e1")
			must(t, s.Events().Create(t.Context(), want), "create event")
			got, err := s.Events().Get(t.Context(), "e1")
			must(t, err, "get event")
			wantTime(t, got.Metadata.Created, base, "created")
			wantTime(t, got.Worker.Status.Started, base.Add(time.Second), "worker started")
			got.Metadata.Created, want.Metadata.Created = nil, nil
			got.Worker.Status.Started, want.Worker.Status.Started = nil, nil
			wantEqual(t, got, want, "stored event")
		}},
		{"Events/TimestampsRoundTripInUTC", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			e := newEvent("demo", "e1", base)
			e.Worker.Status.Started = ptr(base.Add(time.Minute))
			e.Worker.Status.Ended = ptr(base.Add(time.Hour))
			must(t, s.Events().Create(t.Context(), e), "create event")
			got, err := s.Events().Get(t.Context(), "e1")
			must(t, err, "get event")
			wantTime(t, got.Metadata.Created, base, "created")
			wantTime(t, got.Worker.Status.Started, base.Add(time.Minute), "started")
			wantTime(t, got.Worker.Status.Ended, base.Add(time.Hour), "ended")
			page, _, err := s.Events().List(t.Context(), core.EventSelector{}, core.ListOptions{Limit: 1})
			must(t, err, "list events")
			wantTime(t, page[0].Metadata.Created, base, "created, listed")
		}},
		{"Events/CreateStampsCreatedWhenUnset", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			e := newEvent("demo", "e1", base)
			e.Metadata.Created = nil
			must(t, s.Events().Create(t.Context(), e), "create event")
			got, err := s.Events().Get(t.Context(), "e1")
			must(t, err, "get event")
			if got.Metadata.Created == nil || time.Since(*got.Metadata.Created) > time.Hour {
				t.Fatalf("created = %v, want about now", got.Metadata.Created)
			}
		}},
		{"Events/CreateDuplicateIsConflict", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			wantConflict(t, s.Events().Create(t.Context(), newEvent("demo", "e1", base)))
		}},
		{"Events/CreateForMissingProjectIsNotFound", func(t *testing.T, s core.Store) {
			wantNotFound(t, s.Events().Create(t.Context(), newEvent("nope", "e1", base)), "Project")
		}},
		{"Events/GetMissingIsNotFound", func(t *testing.T, s core.Store) {
			_, err := s.Events().Get(t.Context(), "nope")
			wantNotFound(t, err, "Event")
		}},
		{"Events/CreateStoresTheWorkersJobsInOrder", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			e := newEvent("demo", "e1", base)
			e.Worker.Jobs = []core.Job{*newJob("zeta"), *newJob("alpha")}
			must(t, s.Events().Create(t.Context(), e), "create event with jobs")
			jobs, err := s.Jobs().List(t.Context(), "e1")
			must(t, err, "list jobs")
			wantEqual(t, jobNames(jobs), []string{"zeta", "alpha"}, "pre-seeded jobs")
			mkJob(t, s, "e1", "beta")
			got, err := s.Events().Get(t.Context(), "e1")
			must(t, err, "get event")
			wantEqual(t, jobNames(got.Worker.Jobs), []string{"zeta", "alpha", "beta"}, "worker jobs")
		}},
		{"Events/ListOrdersByCreatedDescThenID", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "b", base)
			mkEvent(t, s, "demo", "old", base.Add(-time.Hour))
			mkEvent(t, s, "demo", "a", base)
			mkEvent(t, s, "demo", "new", base.Add(time.Hour))
			mkEvent(t, s, "demo", "c", base)
			page, meta, err := s.Events().List(t.Context(), core.EventSelector{}, core.ListOptions{Limit: 10})
			must(t, err, "list events")
			wantEqual(t, eventIDs(page), []string{"new", "a", "b", "c", "old"}, "event order")
			wantMeta(t, meta, 0, "single page")
		}},
		{"Events/ListPagesWithCreatedAndIDCursor", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			var want []string
			for i := range 7 {
				// Pairs share a created time, so pages split ties.
				created := base.Add(-time.Duration(i/2) * time.Minute)
				mkEvent(t, s, "demo", idf("e%d", i), created)
				want = append(want, idf("e%d", i))
			}
			var got []string
			opts := core.ListOptions{Limit: 3}
			for _, remaining := range []int64{4, 1, 0} {
				page, meta, err := s.Events().List(t.Context(), core.EventSelector{}, opts)
				must(t, err, "list events")
				wantMeta(t, meta, remaining, "events page")
				if meta.Continue != "" {
					last := page[len(page)-1]
					cursor := strconv.FormatInt(last.Metadata.Created.UnixNano(), 10) + ":" + last.Metadata.ID
					wantEqual(t, meta.Continue, cursor, "cursor")
				}
				got = append(got, eventIDs(page)...)
				opts.Continue = meta.Continue
			}
			wantEqual(t, got, want, "events across pages")
		}},
		{"Events/ListRejectsAMalformedCursor", func(t *testing.T, s core.Store) {
			_, _, err := s.Events().List(t.Context(), core.EventSelector{}, core.ListOptions{Limit: 3, Continue: "garbage"})
			wantBadRequest(t, err)
		}},
		{"Events/ListFillsWorkerJobs", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkEvent(t, s, "demo", "e2", base.Add(time.Second))
			mkJob(t, s, "e1", "b")
			mkJob(t, s, "e1", "a")
			mkJob(t, s, "e2", "c")
			page, _, err := s.Events().List(t.Context(), core.EventSelector{}, core.ListOptions{Limit: 10})
			must(t, err, "list events")
			wantEqual(t, eventIDs(page), []string{"e2", "e1"}, "events")
			wantEqual(t, jobNames(page[0].Worker.Jobs), []string{"c"}, "jobs of e2")
			wantEqual(t, jobNames(page[1].Worker.Jobs), []string{"b", "a"}, "jobs of e1")
		}},
		{"Events/UpdateWorkerStatusIsCompareAndSet", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			started := base.Add(time.Second)
			must(t, s.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending,
				core.WorkerStatus{Phase: core.PhaseStarting, Started: &started}), "PENDING -> STARTING")
			err := s.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending,
				core.WorkerStatus{Phase: core.PhaseCanceled})
			wantConflict(t, err)
			got, err := s.Events().Get(ctx, "e1")
			must(t, err, "get event")
			wantEqual(t, got.Worker.Status.Phase, core.PhaseStarting, "phase after the failed compare-and-set")
			wantTime(t, got.Worker.Status.Started, started, "started")
			ids, err := s.Events().IDs(ctx, core.EventSelector{WorkerPhases: []core.WorkerPhase{core.PhaseStarting}})
			must(t, err, "ids by phase")
			wantEqual(t, ids, []string{"e1"}, "events now STARTING")
			wantNotFound(t, s.Events().UpdateWorkerStatus(ctx, "nope", core.PhasePending,
				core.WorkerStatus{Phase: core.PhaseStarting}), "Event")
		}},
		{"Events/SetSummaryAndSourceState", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			must(t, s.Events().SetSummary(ctx, "e1", "3 jobs ran"), "set summary")
			must(t, s.Events().SetSourceState(ctx, "e1", &core.SourceState{State: map[string]string{"a": "1"}}), "set source state")
			must(t, s.Events().SetSourceState(ctx, "e1", &core.SourceState{State: map[string]string{"b": "2"}}), "replace source state")
			got, err := s.Events().Get(ctx, "e1")
			must(t, err, "get event")
			wantEqual(t, got.Summary, "3 jobs ran", "summary")
			wantEqual(t, got.SourceState, &core.SourceState{State: map[string]string{"b": "2"}}, "source state is replaced whole")
			wantEqual(t, got.Worker.Status.Phase, core.PhasePending, "worker untouched")
			wantNotFound(t, s.Events().SetSummary(ctx, "nope", "x"), "Event")
			wantNotFound(t, s.Events().SetSourceState(ctx, "nope", &core.SourceState{}), "Event")
		}},
		{"Events/WorkerTokenHashFindsTheEvent", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkEvent(t, s, "demo", "e2", base)
			must(t, s.Events().SetWorkerTokenHash(ctx, "e2", "hash-2"), "set token hash")
			got, err := s.Events().WorkerTokenEvent(ctx, "hash-2")
			must(t, err, "get by token hash")
			wantEqual(t, got, "e2", "event holding the token")
			_, err = s.Events().WorkerTokenEvent(ctx, "unknown")
			wantNotFound(t, err, "Event")
			wantNotFound(t, s.Events().SetWorkerTokenHash(ctx, "nope", "h"), "Event")
		}},
		{"Events/DeleteCascadesToJobsLogsAndTasks", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			for _, id := range []string{"gone", "kept"} {
				mkEvent(t, s, "demo", id, base)
				mkJob(t, s, id, "build")
				must(t, s.Logs().Append(ctx, core.LogStream{EventID: id, Job: "build", Container: "build"},
					[]core.LogEntry{{Message: "x"}}), "append log")
				mkTask(t, s, core.TaskWorker, "demo", id, "")
			}
			must(t, s.Events().Delete(ctx, "gone"), "delete event")
			_, err := s.Events().Get(ctx, "gone")
			wantNotFound(t, err, "Event")
			_, err = s.Jobs().Get(ctx, "gone", "build")
			wantNotFound(t, err, "Event")
			lines, err := s.Logs().Read(ctx, core.LogStream{EventID: "gone", Job: "build", Container: "build"}, 0, 0)
			must(t, err, "read logs")
			wantEqual(t, len(lines), 0, "log lines of the deleted event")
			n, err := s.Queue().Len(ctx, core.TaskWorker)
			must(t, err, "queue length")
			wantEqual(t, n, 1, "worker tasks left")
			task, err := s.Queue().Lease(ctx, core.TaskWorker, "demo", time.Hour)
			must(t, err, "lease")
			wantEqual(t, task.EventID, "kept", "task left")
			lines, err = s.Logs().Read(ctx, core.LogStream{EventID: "kept", Job: "build", Container: "build"}, 0, 0)
			must(t, err, "read logs")
			wantEqual(t, len(lines), 1, "log lines of the kept event")
		}},
		{"Events/DeleteMissingIsNotFound", func(t *testing.T, s core.Store) {
			wantNotFound(t, s.Events().Delete(t.Context(), "nope"), "Event")
		}},
	}
}

func jobNames(jobs []core.Job) []string {
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = j.Name
	}
	return names
}

func eventHeadCases() []testCase {
	return []testCase{
		{"Events/HeadLeavesOutJobs", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkJob(t, s, "e1", "build")
			full, err := s.Events().Get(t.Context(), "e1")
			must(t, err, "get")
			wantEqual(t, len(full.Worker.Jobs), 1, "jobs of Get")
			head, err := s.Events().Head(t.Context(), "e1")
			must(t, err, "head")
			wantEqual(t, len(head.Worker.Jobs), 0, "jobs of Head")
			wantEqual(t, head.ProjectID, "demo", "project of Head")
			_, err = s.Events().Head(t.Context(), "nope")
			wantNotFound(t, err, "Event")
		}},
	}
}
