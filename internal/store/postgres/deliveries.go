package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

type deliveryStore struct{ s *Store }

// Lookup inside a transaction first takes a transaction-level advisory
// lock on the delivery: a concurrent transaction that looks up the same
// delivery (to record it if unknown) waits for this one to end, and then
// finds what it recorded, as it would behind SQLite's single writer.
func (ds deliveryStore) Lookup(ctx context.Context, source, key string) ([]string, bool, error) {
	if st := ds.s.state(ctx); st != nil {
		if _, err := st.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			"brigade-delivery:"+source+"\n"+key); err != nil {
			return nil, false, fmt.Errorf("lock delivery %q of source %q: %w", key, source, err)
		}
	}
	var ids []string
	err := ds.s.reader(ctx).QueryRow(ctx,
		`SELECT event_ids FROM deliveries WHERE source = $1 AND key = $2`, source, key).Scan(&ids)
	if noRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("look up delivery %q of source %q: %w", key, source, err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, true, nil
}

func (ds deliveryStore) Record(ctx context.Context, source, key string, eventIDs []string, at time.Time) error {
	if eventIDs == nil {
		eventIDs = []string{}
	}
	return ds.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx,
			`INSERT INTO deliveries (source, key, event_ids, time_ns) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			source, key, eventIDs, at.UnixNano())
		if err != nil {
			return fmt.Errorf("record delivery %q of source %q: %w", key, source, err)
		}
		if tag.RowsAffected() == 0 {
			return core.NewConflict("Delivery", key, fmt.Sprintf("delivery %q of source %q was already recorded", key, source))
		}
		return nil
	})
}

func (ds deliveryStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := ds.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx, `DELETE FROM deliveries WHERE time_ns < $1`, t.UnixNano())
		if err != nil {
			return fmt.Errorf("delete deliveries recorded before %s: %w", t.UTC().Format(time.RFC3339), err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}
