package sqlite

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/brigadeplatform/brigade/internal/core"
)

// BenchmarkTxCreateEventIDs is BenchmarkTxCreateEvent with the event ids
// the API hands out, random (UUIDv4) against time-ordered (UUIDv7): random
// keys put each new row of the indexes on event ids on a random page, so a
// commit writes many more pages.
func BenchmarkTxCreateEventIDs(b *testing.B) {
	for _, kind := range []string{"v4", "v7"} {
		b.Run(kind, func(b *testing.B) {
			s := openTemp(b)
			ctx := context.Background()
			if err := s.Projects().Create(ctx, project("demo")); err != nil {
				b.Fatal(err)
			}
			before := s.batches.Load()
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := uuid.NewString()
					if kind == "v7" {
						id = uuid.Must(uuid.NewV7()).String()
					}
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
		})
	}
}
