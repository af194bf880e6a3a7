package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func deliveryCases() []testCase {
	return []testCase{
		{"Deliveries/RecordOnceThenLookup", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			d := s.Deliveries()
			_, known, err := d.Lookup(ctx, "brigade.sh/github", "hook-1/guid-1")
			must(t, err, "look up an unknown delivery")
			wantEqual(t, known, false, "unknown delivery known")
			must(t, d.Record(ctx, "brigade.sh/github", "hook-1/guid-1", []string{"e1", "e2"}, base), "record")
			ids, known, err := d.Lookup(ctx, "brigade.sh/github", "hook-1/guid-1")
			must(t, err, "look up")
			wantEqual(t, []any{ids, known}, []any{[]string{"e1", "e2"}, true}, "recorded delivery")
			var conflict *core.ConflictError
			if err := d.Record(ctx, "brigade.sh/github", "hook-1/guid-1", []string{"e3"}, base); !errors.As(err, &conflict) {
				t.Fatalf("recording a known delivery again: %v; want a ConflictError", err)
			}
			ids, _, err = d.Lookup(ctx, "brigade.sh/github", "hook-1/guid-1")
			must(t, err, "look up after the conflict")
			wantEqual(t, ids, []string{"e1", "e2"}, "delivery after a second record")
			// The key is unique within its source only.
			must(t, d.Record(ctx, "brigade.sh/cloudevents", "hook-1/guid-1", nil, base), "same key, other source")
			ids, known, err = d.Lookup(ctx, "brigade.sh/cloudevents", "hook-1/guid-1")
			must(t, err, "look up a delivery that created no event")
			wantEqual(t, []any{ids, known}, []any{[]string{}, true}, "delivery without events")
		}},
		{"Deliveries/DeleteBefore", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			d := s.Deliveries()
			must(t, d.Record(ctx, "brigade.sh/cron", "old", []string{"e1"}, base), "record old")
			must(t, d.Record(ctx, "brigade.sh/cron", "new", []string{"e2"}, base.Add(time.Hour)), "record new")
			n, err := d.DeleteBefore(ctx, base.Add(time.Minute))
			must(t, err, "delete before")
			wantEqual(t, n, int64(1), "deleted")
			_, known, err := d.Lookup(ctx, "brigade.sh/cron", "old")
			must(t, err, "look up old")
			wantEqual(t, known, false, "old delivery kept")
			_, known, err = d.Lookup(ctx, "brigade.sh/cron", "new")
			must(t, err, "look up new")
			wantEqual(t, known, true, "new delivery kept")
		}},
		{"Deliveries/RollBackWithTheTransaction", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			err := s.Tx(ctx, func(ctx context.Context) error {
				if err := s.Deliveries().Record(ctx, "brigade.sh/cron", "k", nil, base); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("transaction: %v; want %v", err, errBoom)
			}
			_, known, err := s.Deliveries().Lookup(ctx, "brigade.sh/cron", "k")
			must(t, err, "look up")
			wantEqual(t, known, false, "delivery of a rolled-back transaction known")
		}},
	}
}
