package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// writeEverything does one write of every kind inside ctx's transaction.
func writeEverything(ctx context.Context, s core.Store, project string) error {
	ev := project + "-e1"
	steps := []func() error{
		func() error { return s.Projects().Create(ctx, newProject(project)) },
		func() error { return s.Events().Create(ctx, newEvent(project, ev, base)) },
		func() error { return s.Jobs().Create(ctx, ev, newJob("build")) },
		func() error {
			return s.Logs().Append(ctx, core.LogStream{EventID: ev, Container: "worker"}, lines("hello"))
		},
		func() error { return s.Secrets().Set(ctx, project, "k", []byte("v")) },
		func() error {
			return s.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, ProjectID: project, EventID: ev})
		},
		func() error { return s.Settings().Set(ctx, "setting-"+project, "v") },
		func() error {
			return s.Sessions().Create(ctx, &core.Session{ID: "s-" + project, TokenHash: "h-" + project, Created: base})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// wantEverything checks what writeEverything wrote is all there, or all gone.
func wantEverything(t *testing.T, s core.Store, project string, present bool) {
	t.Helper()
	ctx := t.Context()
	ev := project + "-e1"
	check := func(err error, kind string) {
		t.Helper()
		if present {
			must(t, err, "read back "+kind)
		} else {
			wantNotFound(t, err, kind)
		}
	}
	_, err := s.Projects().Get(ctx, project)
	check(err, "Project")
	_, err = s.Events().Get(ctx, ev)
	check(err, "Event")
	_, err = s.Sessions().GetByTokenHash(ctx, "h-"+project)
	check(err, "Session")
	logs, err := s.Logs().Read(ctx, core.LogStream{EventID: ev, Container: "worker"}, 0, 10)
	must(t, err, "read logs")
	_, ok, err := s.Settings().Get(ctx, "setting-"+project)
	must(t, err, "get setting")
	ready, err := s.Queue().Ready(ctx, core.TaskWorker)
	must(t, err, "ready")
	queued := false
	for _, p := range ready {
		queued = queued || p == project
	}
	if (len(logs) == 1) != present || ok != present || queued != present {
		t.Fatalf("project %s: log lines %d, setting stored %v, task queued %v; want all present = %v",
			project, len(logs), ok, queued, present)
	}
}

func txCases() []testCase {
	return []testCase{
		{"Tx/CommitsEveryWriteTogether", func(t *testing.T, s core.Store) {
			must(t, s.Tx(t.Context(), func(ctx context.Context) error {
				return writeEverything(ctx, s, "demo")
			}), "tx")
			wantEverything(t, s, "demo", true)
		}},
		{"Tx/ErrorRollsBackEverythingIncludingEnqueue", func(t *testing.T, s core.Store) {
			err := s.Tx(t.Context(), func(ctx context.Context) error {
				if err := writeEverything(ctx, s, "demo"); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Tx returned %v, want fn's error", err)
			}
			wantEverything(t, s, "demo", false)
			n, err := s.Queue().Len(t.Context(), core.TaskWorker)
			must(t, err, "len")
			wantEqual(t, n, 0, "queued tasks")
		}},
		{"Tx/ErrorRestoresWhatItChanged", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkJob(t, s, "e1", "build")
			task := mkTask(t, s, core.TaskWorker, "demo", "e1", "")
			must(t, s.Secrets().Set(ctx, "demo", "k", []byte("v")), "set secret")
			err := s.Tx(ctx, func(ctx context.Context) error {
				for _, err := range []error{
					s.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending, core.WorkerStatus{Phase: core.PhaseStarting}),
					s.Jobs().UpdateStatus(ctx, "e1", "build", core.PhasePending, core.JobStatus{Phase: core.PhaseRunning}),
					s.Queue().Ack(ctx, task.ID),
					s.Secrets().Unset(ctx, "demo", "k"),
					s.Events().Delete(ctx, "e1"),
				} {
					if err != nil {
						return err
					}
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Tx returned %v, want fn's error", err)
			}
			e, err := s.Events().Get(ctx, "e1")
			must(t, err, "get event")
			wantEqual(t, e.Worker.Status.Phase, core.PhasePending, "worker phase")
			wantEqual(t, e.Worker.Jobs[0].Status.Phase, core.PhasePending, "job phase")
			wantLeased(t, lease(t, s, core.TaskWorker, "demo", time.Hour), "e1", 0)
			_, err = s.Secrets().Get(ctx, "demo", "k")
			must(t, err, "get secret")
		}},
		{"Tx/ReadsInsideSeeTheTransactionsOwnWrites", func(t *testing.T, s core.Store) {
			must(t, s.Tx(t.Context(), func(ctx context.Context) error {
				if err := writeEverything(ctx, s, "demo"); err != nil {
					return err
				}
				if _, err := s.Projects().Get(ctx, "demo"); err != nil {
					return err
				}
				page, _, err := s.Events().List(ctx, core.EventSelector{ProjectID: "demo"}, core.ListOptions{Limit: 10})
				if err != nil {
					return err
				}
				if len(page) != 1 || len(page[0].Worker.Jobs) != 1 {
					t.Errorf("inside the transaction: listed %d events, want 1 with its job", len(page))
				}
				task, err := s.Queue().Lease(ctx, core.TaskWorker, "demo", time.Hour)
				if err != nil {
					return err
				}
				if task == nil {
					t.Error("inside the transaction: could not lease the task it enqueued")
				}
				return nil
			}), "tx")
		}},
		{"Tx/StoreErrorsInsideCanBeHandled", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "a")
			mkEvent(t, s, "a", "e1", base)
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				if err := s.Projects().Create(ctx, newProject("a")); !core.IsConflict(err) {
					t.Errorf("duplicate create inside Tx: %v, want a conflict", err)
				}
				if _, err := s.Projects().Get(ctx, "missing"); !core.IsNotFound(err) {
					t.Errorf("get missing inside Tx: %v, want not found", err)
				}
				err := s.Events().UpdateWorkerStatus(ctx, "e1", core.PhaseRunning, core.WorkerStatus{Phase: core.PhaseSucceeded})
				if !core.IsConflict(err) {
					t.Errorf("stale compare-and-set inside Tx: %v, want a conflict", err)
				}
				return s.Projects().Create(ctx, newProject("b"))
			}), "tx that handled its errors")
			_, err := s.Projects().Get(ctx, "b")
			must(t, err, "get the project written after the handled errors")
		}},
		{"Tx/NestedTxErrorRollsBackOnlyItsOwnWork", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				if err := s.Projects().Create(ctx, newProject("outer1")); err != nil {
					return err
				}
				err := s.Tx(ctx, func(ctx context.Context) error {
					if err := s.Projects().Create(ctx, newProject("inner")); err != nil {
						return err
					}
					return errBoom
				})
				if !errors.Is(err, errBoom) {
					t.Errorf("nested Tx returned %v, want its fn's error", err)
				}
				return s.Projects().Create(ctx, newProject("outer2"))
			}), "outer tx")
			all, err := s.Projects().All(ctx)
			must(t, err, "all projects")
			wantEqual(t, projectIDs(all), []string{"outer1", "outer2"}, "committed projects")
		}},
		{"Tx/FailureDoesNotAffectConcurrentTransactions", func(t *testing.T, s core.Store) {
			const n = 40
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = s.Tx(t.Context(), func(ctx context.Context) error {
						if err := writeEverything(ctx, s, idf("p%02d", i)); err != nil {
							return err
						}
						if i%2 == 1 {
							return errBoom
						}
						return nil
					})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if i%2 == 1 {
					if !errors.Is(err, errBoom) {
						t.Fatalf("failing tx %d returned %v, want its own error", i, err)
					}
					wantEverything(t, s, idf("p%02d", i), false)
				} else {
					must(t, err, idf("tx %d", i))
					wantEverything(t, s, idf("p%02d", i), true)
				}
			}
			l, err := s.Queue().Len(t.Context(), core.TaskWorker)
			must(t, err, "len")
			wantEqual(t, l, n/2, "queued tasks")
		}},
		{"Store/PingAndCloseTwice", func(t *testing.T, s core.Store) {
			must(t, s.Ping(t.Context()), "ping")
			must(t, s.Close(), "close")
			must(t, s.Close(), "close again")
		}},
	}
}

func concurrencyCases() []testCase {
	return []testCase{
		{"Concurrency/ParallelEventCreatesAllSucceedAndAreListed", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			const n = 50
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = s.Tx(t.Context(), func(ctx context.Context) error {
						id := idf("e%02d", i)
						if err := s.Events().Create(ctx, newEvent("demo", id, base.Add(time.Duration(i)*time.Millisecond))); err != nil {
							return err
						}
						return s.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, ProjectID: "demo", EventID: id})
					})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				must(t, err, idf("create event %d", i))
			}
			page, meta, err := s.Events().List(t.Context(), core.EventSelector{ProjectID: "demo"}, core.ListOptions{Limit: 100})
			must(t, err, "list events")
			wantMeta(t, meta, 0, "all events")
			if len(page) != n {
				t.Fatalf("listed %d events, want %d", len(page), n)
			}
			for i, e := range page {
				wantEqual(t, e.Metadata.ID, idf("e%02d", n-1-i), "event order")
			}
			l, err := s.Queue().Len(t.Context(), core.TaskWorker)
			must(t, err, "len")
			wantEqual(t, l, n, "queued tasks")
		}},
		{"Concurrency/CompareAndSetHasExactlyOneWinner", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			const n = 20
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = s.Events().UpdateWorkerStatus(t.Context(), "e1", core.PhasePending, core.WorkerStatus{Phase: core.PhaseStarting})
				}()
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else {
					wantConflict(t, err)
				}
			}
			wantEqual(t, wins, 1, "winners")
		}},
		{"Concurrency/LeasesAreExclusive", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			const tasks, workers = 30, 6
			for i := range tasks {
				mkEvent(t, s, "demo", idf("e%02d", i), base)
				mkTask(t, s, core.TaskWorker, "demo", idf("e%02d", i), "")
			}
			var (
				mu     sync.Mutex
				leased = map[int64]int{}
				wg     sync.WaitGroup
			)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						task, err := s.Queue().Lease(t.Context(), core.TaskWorker, "", time.Hour)
						if err != nil {
							t.Errorf("lease: %v", err)
							return
						}
						if task == nil {
							return
						}
						mu.Lock()
						leased[task.ID]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(leased) != tasks {
				t.Fatalf("leased %d distinct tasks, want %d", len(leased), tasks)
			}
			for id, n := range leased {
				if n != 1 {
					t.Fatalf("task %d was leased %d times", id, n)
				}
			}
		}},
		{"Concurrency/ReadsRunDuringWrites", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			const writers, each = 4, 15
			done := make(chan struct{})
			var rwg, wwg sync.WaitGroup
			for r := range 3 {
				rwg.Add(1)
				go func() {
					defer rwg.Done()
					for {
						select {
						case <-done:
							return
						default:
						}
						page, meta, err := s.Events().List(t.Context(), core.EventSelector{}, core.ListOptions{Limit: 10})
						if err != nil {
							t.Errorf("reader %d: list: %v", r, err)
							return
						}
						if int64(len(page))+meta.RemainingItemCount > writers*each {
							t.Errorf("reader %d: %d listed + %d remaining > %d written", r, len(page), meta.RemainingItemCount, writers*each)
							return
						}
					}
				}()
			}
			for w := range writers {
				wwg.Add(1)
				go func() {
					defer wwg.Done()
					for i := range each {
						if err := s.Events().Create(t.Context(), newEvent("demo", idf("w%d-", w)+idf("%02d", i), base)); err != nil {
							t.Errorf("writer %d: %v", w, err)
							return
						}
					}
				}()
			}
			wwg.Wait()
			close(done)
			rwg.Wait()
			ids, err := s.Events().IDs(t.Context(), core.EventSelector{})
			must(t, err, "ids")
			wantEqual(t, len(ids), writers*each, "events written")
		}},
	}
}
