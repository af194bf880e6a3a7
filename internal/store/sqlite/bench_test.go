package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// benchParallelism multiplies GOMAXPROCS into the number of concurrent
// callers, as many API requests arrive at once.
const benchParallelism = 32

// BenchmarkTxCreateEvent measures durable transactions that each create an
// event and enqueue its worker task, from many concurrent callers.
func BenchmarkTxCreateEvent(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	if err := s.Projects().Create(ctx, project("demo")); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	before := s.batches.Load()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := "e" + strconv.FormatInt(seq.Add(1), 10)
			err := s.Tx(ctx, func(ctx context.Context) error {
				if err := s.Events().Create(ctx, event("demo", id)); err != nil {
					return err
				}
				return s.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, ProjectID: "demo", EventID: id})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	if n := s.batches.Load() - before; n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "tx/commit")
	}
}

// BenchmarkRawInsert is the baseline without group commit: one single-row
// INSERT per transaction on a bare connection with the same pragmas.
func BenchmarkRawInsert(b *testing.B) {
	db, err := sql.Open("sqlite", filepath.Join(b.TempDir(), "raw.db")+"?"+writeParams)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO t (doc) VALUES (?)`, `{"hello":"world"}`); err != nil {
				b.Error(err)
				_ = tx.Rollback()
				return
			}
			if err := tx.Commit(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkReadyManyQueued measures the scheduler's question "which
// projects have a ready worker task" with 1,000 tasks queued for one
// project and one for another (a burst of events): the throughput
// benchmark's scheduler asks it on every pass. The baseline is the
// SELECT DISTINCT that read every queued task of the kind.
func BenchmarkReadyManyQueued(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	for _, p := range []string{"busy", "quiet"} {
		if err := s.Projects().Create(ctx, project(p)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 1000 {
		addQueued(b, s, "busy", "e"+strconv.Itoa(i))
	}
	addQueued(b, s, "quiet", "q1")
	b.Run("skip-scan", func(b *testing.B) {
		for b.Loop() {
			if ready, err := s.Queue().Ready(ctx, core.TaskWorker); err != nil || len(ready) != 2 {
				b.Fatal(ready, err)
			}
		}
	})
	b.Run("distinct-baseline", func(b *testing.B) {
		for b.Loop() {
			rows, err := s.rdb.QueryContext(ctx, `SELECT DISTINCT project_id FROM queue INDEXED BY queue_by_project
				WHERE kind = ? AND available_at_ns <= ? ORDER BY project_id`, string(core.TaskWorker), s.now().UnixNano())
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if n != 2 {
				b.Fatal(n)
			}
		}
	})
}

// addQueued creates event id of project p and queues its worker task.
func addQueued(b *testing.B, s *Store, p, id string) {
	ctx := core.Relaxed(context.Background())
	err := s.Tx(ctx, func(ctx context.Context) error {
		if err := s.Events().Create(ctx, event(p, id)); err != nil {
			return err
		}
		return s.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, ProjectID: p, EventID: id})
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLeaseManyQueued measures the scheduler's lease of a project's
// first task with 1,000 tasks queued for that project (and each lease
// given back, so that every round leases the same task).
func BenchmarkLeaseManyQueued(b *testing.B) {
	s := openTemp(b)
	ctx := core.Relaxed(context.Background())
	if err := s.Projects().Create(ctx, project("busy")); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		addQueued(b, s, "busy", "e"+strconv.Itoa(i))
	}
	for b.Loop() {
		t, err := s.Queue().Lease(ctx, core.TaskWorker, "busy", time.Minute)
		if err != nil || t == nil || t.EventID != "e0" {
			b.Fatal(t, err)
		}
		if err := s.Queue().Nack(ctx, t.ID, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTxSequentialRelaxed measures what one small relaxed transaction
// costs a lone caller, as each of a job's bookkeeping steps (lease, RUNNING,
// end) is: one caller at a time, so every commit is a batch of one.
func BenchmarkTxSequentialRelaxed(b *testing.B) {
	s := openTemp(b)
	ctx := core.Relaxed(context.Background())
	if err := s.Projects().Create(context.Background(), project("demo")); err != nil {
		b.Fatal(err)
	}
	if err := s.Events().Create(context.Background(), event("demo", "e1")); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := s.Tx(ctx, func(ctx context.Context) error {
			_, err := s.Events().WorkerPhase(ctx, "e1")
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
