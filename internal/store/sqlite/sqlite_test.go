package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/storetest"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, testLogger(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

func openTemp(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "brigade.db"))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return openTemp(t) })
}

func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func project(id string) *core.Project {
	return &core.Project{Metadata: core.ObjectMeta{ID: id}, Description: "project " + id}
}

func event(projectID, id string) *core.Event {
	return &core.Event{
		Metadata:  core.ObjectMeta{ID: id},
		ProjectID: projectID,
		Source:    "example.com/gw",
		Type:      "push",
		Worker:    &core.Worker{Status: core.WorkerStatus{Phase: core.PhasePending}},
	}
}

func TestSQLite(t *testing.T) {
	t.Run("DataSurvivesCloseAndReopen", func(t *testing.T) {
		ctx := t.Context()
		path := filepath.Join(t.TempDir(), "brigade.db")
		s, err := Open(ctx, path, testLogger(t))
		must(t, err, "open")
		must(t, s.Projects().Create(ctx, project("demo")), "create project")
		must(t, s.Events().Create(ctx, event("demo", "e1")), "create event")
		must(t, s.Jobs().Create(ctx, "e1", &core.Job{Name: "build"}), "create job")
		st := core.LogStream{EventID: "e1", Container: "worker"}
		must(t, s.Logs().Append(ctx, st, []core.LogEntry{{Message: "one"}, {Message: "two"}}), "append logs")
		must(t, s.Secrets().Set(ctx, "demo", "k", []byte("sealed")), "set secret")
		must(t, s.Settings().Set(ctx, "root", "hash"), "set setting")
		first := &core.Task{Kind: core.TaskWorker, ProjectID: "demo", EventID: "e1"}
		must(t, s.Queue().Enqueue(ctx, first), "enqueue")
		must(t, s.Close(), "close")

		s = openAt(t, path)
		e, err := s.Events().Get(ctx, "e1")
		must(t, err, "get event after reopen")
		if len(e.Worker.Jobs) != 1 || e.Worker.Jobs[0].Name != "build" {
			t.Fatalf("jobs after reopen = %+v", e.Worker.Jobs)
		}
		sealed, err := s.Secrets().Get(ctx, "demo", "k")
		must(t, err, "get secret after reopen")
		if string(sealed) != "sealed" {
			t.Fatalf("secret after reopen = %q", sealed)
		}
		v, ok, err := s.Settings().Get(ctx, "root")
		must(t, err, "get setting after reopen")
		if !ok || v != "hash" {
			t.Fatalf("setting after reopen = %q, %v", v, ok)
		}
		must(t, s.Logs().Append(ctx, st, []core.LogEntry{{Message: "three"}}), "append after reopen")
		lines, err := s.Logs().Read(ctx, st, 0, 0)
		must(t, err, "read logs after reopen")
		if len(lines) != 3 || lines[2].Seq != 3 || lines[2].Message != "three" {
			t.Fatalf("log lines after reopen = %+v, want seq 1..3", lines)
		}
		task, err := s.Queue().Lease(ctx, core.TaskWorker, "", time.Hour)
		must(t, err, "lease after reopen")
		if task == nil || task.ID != first.ID {
			t.Fatalf("leased %+v after reopen, want task %d", task, first.ID)
		}
		must(t, s.Queue().Ack(ctx, task.ID), "ack")
		second := &core.Task{Kind: core.TaskWorker, ProjectID: "demo", EventID: "e1"}
		must(t, s.Queue().Enqueue(ctx, second), "enqueue after reopen")
		if second.ID <= first.ID {
			t.Fatalf("task id %d after reopen reuses or precedes %d", second.ID, first.ID)
		}
	})

	t.Run("FailedTxLeavesNoRowInAnyTable", func(t *testing.T) {
		s := openTemp(t)
		ctx := t.Context()
		must(t, s.Projects().Create(ctx, project("base")), "create project")
		errBoom := errors.New("boom")
		err := s.Tx(ctx, func(ctx context.Context) error {
			for _, err := range []error{
				s.Projects().Create(ctx, project("demo")),
				s.Events().Create(ctx, event("demo", "e1")),
				s.Jobs().Create(ctx, "e1", &core.Job{Name: "build"}),
				s.Logs().Append(ctx, core.LogStream{EventID: "e1", Container: "worker"}, []core.LogEntry{{Message: "x"}}),
				s.Logs().Close(ctx, core.LogStream{EventID: "e1", Container: "worker"}),
				s.Secrets().Set(ctx, "demo", "k", []byte("v")),
				s.Sessions().Create(ctx, &core.Session{ID: "s", TokenHash: "h"}),
				s.Settings().Set(ctx, "k", "v"),
				s.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, EventID: "e1"}),
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
		wantRows(t, s, map[string]int{"projects": 1, "events": 0, "jobs": 0, "log_chunks": 0, "log_streams": 0,
			"secrets": 0, "sessions": 0, "settings": 0, "queue": 0})
	})

	t.Run("PanicInTxRollsBackAndReachesTheCaller", func(t *testing.T) {
		s := openTemp(t)
		ctx := t.Context()
		func() {
			defer func() {
				if p := recover(); p != "kaboom" {
					t.Fatalf("recovered %v, want the fn's panic", p)
				}
			}()
			_ = s.Tx(ctx, func(ctx context.Context) error {
				if err := s.Projects().Create(ctx, project("demo")); err != nil {
					return err
				}
				panic("kaboom")
			})
		}()
		wantRows(t, s, map[string]int{"projects": 0})
		must(t, s.Projects().Create(ctx, project("after")), "write after the panic")
	})

	t.Run("ConcurrentTxCallersShareCommits", func(t *testing.T) {
		s := openTemp(t)
		ctx := t.Context()
		must(t, s.Projects().Create(ctx, project("demo")), "create project")
		const n = 64
		release, started := make(chan struct{}), make(chan struct{})
		errs := make(chan error, n)
		go func() {
			errs <- s.Tx(ctx, func(ctx context.Context) error {
				close(started)
				<-release // hold the writer while the others queue up
				return s.Events().Create(ctx, event("demo", "blocker"))
			})
		}()
		<-started
		before := s.batches.Load()
		for i := range n - 1 {
			go func() {
				errs <- s.Tx(ctx, func(ctx context.Context) error {
					id := "e" + strconv.Itoa(i)
					if err := s.Events().Create(ctx, event("demo", id)); err != nil {
						return err
					}
					return s.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, EventID: id})
				})
			}()
		}
		for s.waiting.Load() < n-1 {
			runtime.Gosched()
		}
		close(release)
		for range n {
			must(t, <-errs, "tx")
		}
		batches := s.batches.Load() - before
		t.Logf("%d transactions committed in %d batches", n, batches)
		if batches > 4 {
			t.Fatalf("%d queued transactions took %d commits, want them batched into a few", n, batches)
		}
		wantRows(t, s, map[string]int{"events": n, "queue": n - 1})
	})

	t.Run("BrokenTransactionFailsOnlyTheCallersThatRanInIt", func(t *testing.T) {
		s := openTemp(t)
		ctx := t.Context()
		release, started := make(chan struct{}), make(chan struct{})
		blocker := make(chan error, 1)
		go func() {
			blocker <- s.Tx(ctx, func(ctx context.Context) error {
				close(started)
				<-release
				return nil
			})
		}()
		<-started
		const n = 8
		type result struct {
			id  string
			err error
		}
		results := make(chan result, n)
		sabotage := make(chan error, 1)
		go func() {
			sabotage <- s.Tx(ctx, func(ctx context.Context) error {
				// Ends the shared SQL transaction behind the writer's back.
				_, err := s.state(ctx).ExecContext(ctx, "ROLLBACK")
				return err
			})
		}()
		for i := range n {
			go func() {
				id := "p" + strconv.Itoa(i)
				results <- result{id, s.Projects().Create(ctx, project(id))}
			}()
		}
		for s.waiting.Load() < n+1 {
			runtime.Gosched()
		}
		close(release)
		must(t, <-blocker, "blocker")
		if err := <-sabotage; err == nil {
			t.Fatal("the caller that broke the transaction got no error")
		}
		for range n {
			r := <-results
			_, err := s.Projects().Get(ctx, r.id)
			if r.err == nil {
				must(t, err, "get "+r.id+", reported written")
			} else if !core.IsNotFound(err) {
				t.Fatalf("%s failed with %v but reads back as %v", r.id, r.err, err)
			}
		}
		must(t, s.Projects().Create(ctx, project("after")), "write after the broken transaction")
	})

	t.Run("CanceledCallerIsNotRun", func(t *testing.T) {
		s := openTemp(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		ran := false
		err := s.Tx(ctx, func(ctx context.Context) error { ran = true; return nil })
		if !errors.Is(err, context.Canceled) || ran {
			t.Fatalf("Tx on a canceled context: err %v, ran %v; want context.Canceled without running", err, ran)
		}
	})

	t.Run("WritesAfterCloseFail", func(t *testing.T) {
		s := openTemp(t)
		must(t, s.Close(), "close")
		if err := s.Projects().Create(t.Context(), project("late")); !errors.Is(err, errClosed) {
			t.Fatalf("write after close: %v, want errClosed", err)
		}
		ch, _ := s.Subscribe("anything")
		if _, ok := <-ch; ok {
			t.Fatal("subscribing to a closed store: want a closed channel")
		}
	})

	t.Run("WriterPragmasAreSet", func(t *testing.T) {
		s := openTemp(t)
		err := s.Tx(t.Context(), func(ctx context.Context) error {
			st := s.state(ctx)
			var mode string
			var sync, fk int
			if err := st.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				return err
			}
			if err := st.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
				return err
			}
			if err := st.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
				return err
			}
			// NORMAL: durable commits are synced by the syncer (sync.go).
			if mode != "wal" || sync != 1 || fk != 1 {
				t.Errorf("journal_mode %q, synchronous %d, foreign_keys %d; want wal, 1 (NORMAL), 1", mode, sync, fk)
			}
			return nil
		})
		must(t, err, "read pragmas")
	})

	t.Run("OpenRejectsABadPath", func(t *testing.T) {
		if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "missing", "dir", "x.db"), nil); err == nil {
			t.Fatal("open in a missing directory: want an error")
		}
		if _, err := Open(t.Context(), "x.db?mode=ro", nil); err == nil {
			t.Fatal("open with a query string: want an error")
		}
	})
}

// wantRows counts rows through a connection of its own.
func wantRows(t *testing.T, s *Store, want map[string]int) {
	t.Helper()
	db, err := sql.Open("sqlite", s.path+"?"+readParams)
	must(t, err, "open a checking connection")
	defer db.Close()
	for table, n := range want {
		var got int
		must(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&got), "count "+table)
		if got != n {
			t.Errorf("table %s has %d rows, want %d", table, got, n)
		}
	}
}

func TestRelaxedWritesSkipTheSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relaxed.db")
	s := openAt(t, path)
	ctx := context.Background()
	if err := s.Projects().Create(ctx, &core.Project{Metadata: core.ObjectMeta{ID: "demo"}}); err != nil {
		t.Fatal(err)
	}
	before := s.fsyncs.Load()
	relaxed := core.Relaxed(ctx)
	if err := s.Events().Create(relaxed, event("demo", "relaxed")); err != nil {
		t.Fatal(err)
	}
	if got := s.fsyncs.Load() - before; got != 0 {
		t.Fatalf("a relaxed write synced %d times", got)
	}
	if err := s.Events().Create(ctx, event("demo", "durable")); err != nil {
		t.Fatal(err)
	}
	if got := s.fsyncs.Load() - before; got != 1 {
		t.Fatalf("a durable write synced %d times, want 1", got)
	}
	s.Close()
	s = openAt(t, path)
	for _, id := range []string{"relaxed", "durable"} {
		if _, err := s.Events().Get(ctx, id); err != nil {
			t.Fatalf("event %s after reopening: %v", id, err)
		}
	}
}
