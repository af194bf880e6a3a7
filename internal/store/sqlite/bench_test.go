package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

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
