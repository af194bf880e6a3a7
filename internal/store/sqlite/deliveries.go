package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

type deliveryStore struct{ s *Store }

func (ds deliveryStore) Lookup(ctx context.Context, source, key string) ([]string, bool, error) {
	var ids string
	err := ds.s.reader(ctx).QueryRowContext(ctx,
		`SELECT event_ids FROM deliveries WHERE source = ? AND key = ?`, source, key).Scan(&ids)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("look up delivery %q of source %q: %w", key, source, err)
	}
	var out []string
	if err := json.Unmarshal([]byte(ids), &out); err != nil {
		return nil, false, fmt.Errorf("delivery %q of source %q: stored event ids: %w", key, source, err)
	}
	return out, true, nil
}

func (ds deliveryStore) Record(ctx context.Context, source, key string, eventIDs []string, at time.Time) error {
	if eventIDs == nil {
		eventIDs = []string{}
	}
	ids, err := json.Marshal(eventIDs)
	if err != nil {
		return err
	}
	return ds.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx,
			`INSERT INTO deliveries (source, key, event_ids, time_ns) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			source, key, string(ids), at.UnixNano())
		if err != nil {
			return fmt.Errorf("record delivery %q of source %q: %w", key, source, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return core.NewConflict("Delivery", key, fmt.Sprintf("delivery %q of source %q was already recorded", key, source))
		}
		return nil
	})
}

func (ds deliveryStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := ds.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx, `DELETE FROM deliveries WHERE time_ns < ?`, t.UnixNano())
		if err != nil {
			return fmt.Errorf("delete deliveries recorded before %s: %w", t.UTC().Format(time.RFC3339), err)
		}
		n, err = affected(res)
		return err
	})
	return n, err
}
