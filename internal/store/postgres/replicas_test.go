package postgres

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/postgres/pgtest"
)

const waitFor = 30 * time.Second

func openURL(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, testLogger(t), WithMaxConns(4))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitNotified(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("no notification for %s within %s", what, waitFor)
	}
}

func mkEvent(t *testing.T, s *Store, project, id string) {
	t.Helper()
	ctx := t.Context()
	if err := s.Projects().Create(ctx, &core.Project{Metadata: core.ObjectMeta{ID: project}}); err != nil && !core.IsConflict(err) {
		t.Fatal(err)
	}
	e := &core.Event{Metadata: core.ObjectMeta{ID: id}, ProjectID: project, Source: "s", Type: "t",
		Worker: &core.Worker{Status: core.WorkerStatus{Phase: core.PhasePending}}}
	if err := s.Events().Create(ctx, e); err != nil {
		t.Fatal(err)
	}
}

// Two stores on one database stand for two replicas: what one commits
// wakes the other's followers, and they read it.
func TestReplicasSeeEachOthersCommits(t *testing.T) {
	url := pgtest.Schema(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := t.Context()
	mkEvent(t, a, "demo", "e1")
	worker, cancel := b.Subscribe(core.TopicWorker("e1"))
	defer cancel()
	logs, cancelLogs := b.Subscribe(core.TopicLogs("e1"))
	defer cancelLogs()
	queue, cancelQueue := b.Subscribe(core.TopicQueue)
	defer cancelQueue()

	if err := a.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending, core.WorkerStatus{Phase: core.PhaseRunning}); err != nil {
		t.Fatal(err)
	}
	waitNotified(t, worker, "a worker status written by the other replica")
	if phase, err := b.Events().WorkerPhase(ctx, "e1"); err != nil || phase != core.PhaseRunning {
		t.Fatalf("replica b reads phase %q (%v), want RUNNING", phase, err)
	}
	if err := a.Logs().Append(ctx, core.LogStream{EventID: "e1", Container: "worker"}, []core.LogEntry{{Message: "hello"}}); err != nil {
		t.Fatal(err)
	}
	waitNotified(t, logs, "log lines appended by the other replica")
	got, err := b.Logs().Read(ctx, core.LogStream{EventID: "e1", Container: "worker"}, 0, 10)
	if err != nil || len(got) != 1 || got[0].Message != "hello" {
		t.Fatalf("replica b reads %v (%v), want the line", got, err)
	}
	if err := a.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, EventID: "e1"}); err != nil {
		t.Fatal(err)
	}
	waitNotified(t, queue, "a task enqueued by the other replica")
	task, err := b.Queue().Lease(ctx, core.TaskWorker, "", time.Hour)
	if err != nil || task == nil || task.EventID != "e1" {
		t.Fatalf("replica b leased %+v (%v), want the task", task, err)
	}
}

// Leases from several replicas at once never hand one task out twice.
func TestReplicasLeaseEachTaskOnce(t *testing.T) {
	url := pgtest.Schema(t)
	stores := []*Store{openURL(t, url), openURL(t, url), openURL(t, url)}
	ctx := t.Context()
	const n = 60
	for i := range n {
		id := "e" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		mkEvent(t, stores[0], "demo", id)
		if err := stores[0].Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, EventID: id}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
		errs = make(chan error, 12)
	)
	for i := range 12 {
		s := stores[i%len(stores)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				task, err := s.Queue().Lease(ctx, core.TaskWorker, "", time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if task == nil {
					return
				}
				mu.Lock()
				seen[task.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("leased %d distinct tasks, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("task %d leased %d times", id, c)
		}
	}
}

// Replicas starting together migrate the schema once; the others wait on
// the advisory lock and find nothing left to do.
func TestReplicasStartTogether(t *testing.T) {
	url := pgtest.Schema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), url, testLogger(t), WithMaxConns(2))
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a replica failed to start: %v", err)
		}
	}
	if err := Migrate(t.Context(), url, testLogger(t)); err != nil {
		t.Fatalf("brigade migrate on a migrated database: %v", err)
	}
	s := openURL(t, url)
	var rows int
	if err := s.pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM goose_db_version WHERE version_id = 1`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("migration 1 recorded %d times, want once", rows)
	}
}

// A database migrated by a newer release is refused, and nothing changes.
func TestNewerSchemaIsRefused(t *testing.T) {
	url := pgtest.Schema(t)
	s := openURL(t, url)
	if _, err := s.pool.Exec(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, true)`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), url, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "newer version") {
		t.Fatalf("open a database of a newer release: %v, want a refusal that says so", err)
	}
}

// Bad URLs fail at Open, naming the host tried and what to check, and
// never echo the password.
func TestOpenErrorsSayWhatToCheck(t *testing.T) {
	base := pgtest.URL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	for _, c := range []struct {
		name, url string
		want      []string
	}{
		{"Unparsable", "postgres://user:s3cret@host:notaport/db", []string{"not valid", "postgres://user:password@host:5432/database"}},
		{"NothingListens", "postgres://user:s3cret@" + closed + "/db?sslmode=disable&connect_timeout=10",
			[]string{closed[:strings.LastIndex(closed, ":")], "check that the server runs"}},
		{"NoSuchDatabase", strings.Replace(base, "?", "-no-such-db?", 1) + "&connect_timeout=10", []string{"no-such-db", "database exists"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(ctx, c.url, testLogger(t))
			if err == nil {
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// When the listening connection is cut, the store reconnects and wakes
// every follower (they may have missed commits), and later commits of
// other replicas are heard again.
func TestListenerReconnectsAndWakesFollowers(t *testing.T) {
	url := pgtest.Schema(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := t.Context()
	mkEvent(t, a, "demo", "e1")
	ch, cancel := b.Subscribe(core.TopicWorker("e1"))
	defer cancel()
	// Cut b's listening connection from the server's side.
	if _, err := a.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid() AND pid = ANY($1)`, b.listenerPIDs()); err != nil {
		t.Fatal(err)
	}
	waitNotified(t, ch, "the wake-up after reconnecting")
	// Heard again: a's commits keep waking b's follower (retry until the
	// new LISTEN is in place: a commit before it is only covered by the
	// wake-up above).
	deadline := time.Now().Add(waitFor)
	for i := 0; ; i++ {
		if err := a.Events().SetSummary(ctx, "e1", "s"+string(rune('a'+i%26))); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the other replica's commits are not heard after the reconnection")
		}
	}
}
