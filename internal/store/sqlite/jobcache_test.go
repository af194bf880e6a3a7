package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// jobCacheFixture is a store with project p, event e1 and its job j1
// (PENDING), created through the store as the API does.
func jobCacheFixture(t *testing.T) *Store {
	t.Helper()
	s := openTemp(t)
	ctx := t.Context()
	must(t, s.Projects().Create(ctx, project("p")), "create project")
	must(t, s.Events().Create(ctx, event("p", "e1")), "create event")
	must(t, s.Jobs().Create(ctx, "e1", &core.Job{Name: "j1", Status: &core.JobStatus{Phase: core.PhasePending}}), "create job")
	return s
}

// statusAndPhase reads a job's status and phase outside any transaction
// (the reads that may be served from the cache), and again on the writer
// inside one (always the database), and fails unless they agree.
func statusAndPhase(t *testing.T, s *Store, event, name string) (core.JobStatus, core.JobPhase, error) {
	t.Helper()
	ctx := t.Context()
	st, err := s.Jobs().Status(ctx, event, name)
	phase, perr := s.Jobs().Phase(ctx, event, name)
	var dbSt core.JobStatus
	var dbPhase core.JobPhase
	var dbErr, dbPerr error
	must(t, s.Tx(core.Relaxed(ctx), func(ctx context.Context) error {
		dbSt, dbErr = s.Jobs().Status(ctx, event, name)
		dbPhase, dbPerr = s.Jobs().Phase(ctx, event, name)
		return nil
	}), "read in a transaction")
	if fmt.Sprint(err) != fmt.Sprint(dbErr) || fmt.Sprint(perr) != fmt.Sprint(dbPerr) {
		t.Fatalf("outside a transaction: %v, %v; in one: %v, %v", err, perr, dbErr, dbPerr)
	}
	if err != nil {
		return st, phase, err
	}
	if fmt.Sprintf("%+v", st) != fmt.Sprintf("%+v", dbSt) || phase != dbPhase {
		t.Fatalf("outside a transaction: %+v (%s); in the database: %+v (%s)", st, phase, dbSt, dbPhase)
	}
	if st.Phase != phase {
		t.Fatalf("status phase %s, phase %s", st.Phase, phase)
	}
	return st, phase, nil
}

// TestJobCacheFollowsCommits: job reads outside a transaction, which the
// cache may serve, give what the database holds after every kind of
// write, rolled back or not.
func TestJobCacheFollowsCommits(t *testing.T) {
	ctx := t.Context()
	s := jobCacheFixture(t)
	if _, ok := s.jobCache.get("e1", "j1"); !ok {
		t.Fatal("a created job is not in the cache")
	}
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	must(t, s.Jobs().UpdateStatus(ctx, "e1", "j1", core.PhasePending, core.JobStatus{Phase: core.PhaseRunning, Started: &started}), "update")
	st, _, err := statusAndPhase(t, s, "e1", "j1")
	if err != nil || st.Phase != core.PhaseRunning || st.Started == nil || !st.Started.Equal(started) || st.Started.Location() != time.UTC {
		t.Fatalf("after the update: %+v, %v", st, err)
	}

	// A transaction that fails leaves the committed status.
	boom := errors.New("boom")
	err = s.Tx(ctx, func(ctx context.Context) error {
		must(t, s.Jobs().UpdateStatus(ctx, "e1", "j1", core.PhaseRunning, core.JobStatus{Phase: core.PhaseFailed}), "update in a failing transaction")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("the failing transaction returned %v", err)
	}
	if st, _, _ := statusAndPhase(t, s, "e1", "j1"); st.Phase != core.PhaseRunning {
		t.Fatalf("after a rolled-back update: %s", st.Phase)
	}

	// So does a nested one rolled back inside a transaction that commits.
	must(t, s.Tx(ctx, func(ctx context.Context) error {
		err := s.Tx(ctx, func(ctx context.Context) error {
			must(t, s.Jobs().UpdateStatus(ctx, "e1", "j1", core.PhaseRunning, core.JobStatus{Phase: core.PhaseAborted}), "nested update")
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("the nested transaction returned %v", err)
		}
		return s.Jobs().Create(ctx, "e1", &core.Job{Name: "j2"})
	}), "transaction with a rolled-back nested one")
	if st, _, _ := statusAndPhase(t, s, "e1", "j1"); st.Phase != core.PhaseRunning {
		t.Fatalf("after a rolled-back nested update: %s", st.Phase)
	}
	if st, phase, err := statusAndPhase(t, s, "e1", "j2"); err != nil || st.Phase != "" || phase != "" {
		t.Fatalf("a job created without a status: %+v %q %v", st, phase, err)
	}

	// A nested one that commits is kept; a replaced job is what replaced it.
	must(t, s.Tx(ctx, func(ctx context.Context) error {
		return s.Tx(ctx, func(ctx context.Context) error {
			return s.Jobs().UpdateStatus(ctx, "e1", "j1", core.PhaseRunning, core.JobStatus{Phase: core.PhaseSucceeded})
		})
	}), "nested update that commits")
	if st, _, _ := statusAndPhase(t, s, "e1", "j1"); st.Phase != core.PhaseSucceeded {
		t.Fatalf("after a nested update: %s", st.Phase)
	}
	must(t, s.Jobs().Replace(ctx, "e1", &core.Job{Name: "j2", Status: &core.JobStatus{Phase: core.PhaseCanceled}}), "replace")
	if st, _, _ := statusAndPhase(t, s, "e1", "j2"); st.Phase != core.PhaseCanceled {
		t.Fatalf("after a replace: %s", st.Phase)
	}

	// Deleting the event, then the project, removes what they held.
	must(t, s.Events().Create(ctx, event("p", "e2")), "create event e2")
	must(t, s.Jobs().Create(ctx, "e2", &core.Job{Name: "j1", Status: &core.JobStatus{Phase: core.PhasePending}}), "create job of e2")
	must(t, s.Events().Delete(ctx, "e1"), "delete event")
	for _, name := range []string{"j1", "j2"} {
		if _, _, err := statusAndPhase(t, s, "e1", name); !core.IsNotFound(err) {
			t.Fatalf("job %s of a deleted event: %v", name, err)
		}
	}
	if _, _, err := statusAndPhase(t, s, "e2", "j1"); err != nil {
		t.Fatalf("the other event's job: %v", err)
	}
	must(t, s.Projects().Delete(ctx, "p"), "delete project")
	if _, _, err := statusAndPhase(t, s, "e2", "j1"); !core.IsNotFound(err) {
		t.Fatalf("a job of a deleted project: %v", err)
	}
	if _, ok := s.jobCache.get("e2", "j1"); ok {
		t.Fatal("a job of a deleted project is still in the cache")
	}
}

// TestJobCacheBounded: past maxCachedJobs the cache starts again, and
// every job still reads as stored.
func TestJobCacheBounded(t *testing.T) {
	ctx := t.Context()
	s := jobCacheFixture(t)
	n := maxCachedJobs + 10
	must(t, s.Tx(ctx, func(ctx context.Context) error {
		for i := range n {
			if err := s.Jobs().Create(ctx, "e1", &core.Job{Name: fmt.Sprint("job-", i), Status: &core.JobStatus{Phase: core.PhaseRunning}}); err != nil {
				return err
			}
		}
		return nil
	}), "create jobs")
	if c := &s.jobCache; c.n > maxCachedJobs {
		t.Fatalf("the cache holds %d jobs, more than %d", c.n, maxCachedJobs)
	}
	for _, name := range []string{"j1", "job-0", fmt.Sprint("job-", n-1)} {
		st, _, err := statusAndPhase(t, s, "e1", name)
		want := core.PhaseRunning
		if name == "j1" {
			want = core.PhasePending
		}
		if err != nil || st.Phase != want {
			t.Fatalf("job %s: %+v, %v", name, st, err)
		}
	}
	s.jobCache.clear()
	if st, _, err := statusAndPhase(t, s, "e1", "job-1"); err != nil || st.Phase != core.PhaseRunning {
		t.Fatalf("after the cache was emptied: %+v, %v", st, err)
	}
}

// TestJobCacheFollowsWorkers: a worker's phase read outside a transaction
// is what the database holds, through updates, a rolled-back one and the
// event's deletion.
func TestJobCacheFollowsWorkers(t *testing.T) {
	ctx := t.Context()
	s := jobCacheFixture(t)
	phase := func() (core.WorkerPhase, error) {
		t.Helper()
		got, err := s.Events().WorkerPhase(ctx, "e1")
		var db core.WorkerPhase
		var dbErr error
		must(t, s.Tx(core.Relaxed(ctx), func(ctx context.Context) error {
			db, dbErr = s.Events().WorkerPhase(ctx, "e1")
			return nil
		}), "read in a transaction")
		if got != db || fmt.Sprint(err) != fmt.Sprint(dbErr) {
			t.Fatalf("outside a transaction: %q %v; in the database: %q %v", got, err, db, dbErr)
		}
		return got, err
	}
	if p, ok := s.jobCache.workerPhase("e1"); !ok || p != core.PhasePending {
		t.Fatalf("a created event's worker is not in the cache: %q %v", p, ok)
	}
	must(t, s.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending, core.WorkerStatus{Phase: core.PhaseRunning}), "update")
	if p, err := phase(); err != nil || p != core.PhaseRunning {
		t.Fatalf("after the update: %q %v", p, err)
	}
	boom := errors.New("boom")
	if err := s.Tx(ctx, func(ctx context.Context) error {
		must(t, s.Events().UpdateWorkerStatus(ctx, "e1", core.PhaseRunning, core.WorkerStatus{Phase: core.PhaseFailed}), "update in a failing transaction")
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("the failing transaction returned %v", err)
	}
	if p, _ := phase(); p != core.PhaseRunning {
		t.Fatalf("after a rolled-back update: %q", p)
	}
	must(t, s.Events().Delete(ctx, "e1"), "delete")
	if _, err := phase(); !core.IsNotFound(err) {
		t.Fatalf("a deleted event's worker: %v", err)
	}
	if _, ok := s.jobCache.workerPhase("e1"); ok {
		t.Fatal("a deleted event's worker is still in the cache")
	}
}

// TestJobCacheClosesWithTheStore: once the store is closed, job and worker
// reads fail as the store's reads do (a status watch ends on that error)
// rather than go on from memory.
func TestJobCacheClosesWithTheStore(t *testing.T) {
	s := jobCacheFixture(t)
	ctx := context.Background()
	must(t, s.Events().SetWorkerTokenHash(ctx, "e1", "h1"), "set a worker token")
	if _, err := s.Jobs().Status(ctx, "e1", "j1"); err != nil {
		t.Fatal(err)
	}
	must(t, s.Close(), "close")
	if _, err := s.Jobs().Status(ctx, "e1", "j1"); err == nil {
		t.Fatal("a closed store's job status read succeeded")
	}
	if _, err := s.Jobs().Phase(ctx, "e1", "j1"); err == nil {
		t.Fatal("a closed store's job phase read succeeded")
	}
	if _, err := s.Events().WorkerPhase(ctx, "e1"); err == nil {
		t.Fatal("a closed store's worker phase read succeeded")
	}
	if _, err := s.Events().WorkerTokenEvent(ctx, "h1"); err == nil {
		t.Fatal("a closed store's worker token read succeeded")
	}
}

// TestJobCacheFollowsWorkerTokens: the event a worker token belongs to,
// read outside a transaction, is what the database holds through a token
// set, replaced, refused (another event's), rolled back and cleared, and
// through the deletion of its event and of its project.
func TestJobCacheFollowsWorkerTokens(t *testing.T) {
	ctx := t.Context()
	s := jobCacheFixture(t)
	must(t, s.Events().Create(ctx, event("p", "e2")), "create event e2")
	// lookup returns the token's event outside a transaction (the cache
	// may answer) after checking it against the database.
	lookup := func(hash string) (string, error) {
		t.Helper()
		got, err := s.Events().WorkerTokenEvent(ctx, hash)
		var db string
		var dbErr error
		must(t, s.Tx(core.Relaxed(ctx), func(ctx context.Context) error {
			db, dbErr = s.Events().WorkerTokenEvent(ctx, hash)
			return nil
		}), "read in a transaction")
		if got != db || fmt.Sprint(err) != fmt.Sprint(dbErr) {
			t.Fatalf("token %q outside a transaction: %q %v; in the database: %q %v", hash, got, err, db, dbErr)
		}
		return got, err
	}
	must(t, s.Events().SetWorkerTokenHash(ctx, "e1", "h1"), "set e1's token")
	if id, ok := s.jobCache.tokenEvent("h1"); !ok || id != "e1" {
		t.Fatalf("a token just set is not in the cache: %q %v", id, ok)
	}
	if id, err := lookup("h1"); err != nil || id != "e1" {
		t.Fatalf("e1's token: %q %v", id, err)
	}
	must(t, s.Events().SetWorkerTokenHash(ctx, "e1", "h2"), "replace e1's token")
	if _, err := lookup("h1"); !core.IsNotFound(err) {
		t.Fatalf("a replaced token: %v", err)
	}
	if err := s.Events().SetWorkerTokenHash(ctx, "e2", "h2"); !core.IsConflict(err) {
		t.Fatalf("e2 given e1's token: %v", err)
	}
	if id, err := lookup("h2"); err != nil || id != "e1" {
		t.Fatalf("e1's token after e2 was refused it: %q %v", id, err)
	}
	boom := errors.New("boom")
	if err := s.Tx(ctx, func(ctx context.Context) error {
		must(t, s.Events().SetWorkerTokenHash(ctx, "e1", ""), "clear in a failing transaction")
		must(t, s.Events().SetWorkerTokenHash(ctx, "e2", "h3"), "set in a failing transaction")
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("the failing transaction returned %v", err)
	}
	if id, err := lookup("h2"); err != nil || id != "e1" {
		t.Fatalf("e1's token after a rolled-back clear: %q %v", id, err)
	}
	if _, err := lookup("h3"); !core.IsNotFound(err) {
		t.Fatalf("a token set in a rolled-back transaction: %v", err)
	}
	must(t, s.Events().SetWorkerTokenHash(ctx, "e1", ""), "clear e1's token")
	if _, err := lookup("h2"); !core.IsNotFound(err) {
		t.Fatalf("a cleared token: %v", err)
	}

	must(t, s.Events().SetWorkerTokenHash(ctx, "e1", "h4"), "set e1's token again")
	must(t, s.Events().SetWorkerTokenHash(ctx, "e2", "h5"), "set e2's token")
	must(t, s.Events().Delete(ctx, "e1"), "delete e1")
	if _, err := lookup("h4"); !core.IsNotFound(err) {
		t.Fatalf("the token of a deleted event: %v", err)
	}
	if id, err := lookup("h5"); err != nil || id != "e2" {
		t.Fatalf("the other event's token: %q %v", id, err)
	}
	must(t, s.Projects().Delete(ctx, "p"), "delete the project")
	if _, ok := s.jobCache.tokenEvent("h5"); ok {
		t.Fatal("the token of a deleted project's event is still in the cache")
	}
	if _, err := lookup("h5"); !core.IsNotFound(err) {
		t.Fatalf("the token of a deleted project's event: %v", err)
	}
	if c := &s.jobCache; c.n != len(c.workers)+len(c.tokens)+countJobs(c) || len(c.tokens) != len(c.tokenOf) {
		t.Fatalf("the cache counts %d entries, holds %d workers, %d tokens (%d by event) and %d jobs",
			c.n, len(c.workers), len(c.tokens), len(c.tokenOf), countJobs(c))
	}
}

func countJobs(c *jobCache) int {
	n := 0
	for _, jobs := range c.m {
		n += len(jobs)
	}
	return n
}
