package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// cleanupStore keeps due cleanups in the cleanups table.
type cleanupStore struct{ s *Store }

func (cs cleanupStore) Schedule(ctx context.Context, eventID string, due time.Time) error {
	if eventID == "" {
		return core.NewBadRequest("a cleanup needs an event id")
	}
	return cs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if _, err := st.Exec(ctx,
			`INSERT INTO cleanups AS c (event_id, due_ns) VALUES ($1, $2)
			 ON CONFLICT (event_id) DO UPDATE SET due_ns = LEAST(c.due_ns, excluded.due_ns)`,
			eventID, due.UnixNano()); err != nil {
			return fmt.Errorf("schedule cleanup of event %q: %w", eventID, err)
		}
		st.touch(core.TopicCleanup)
		return nil
	})
}

func (cs cleanupStore) Due(ctx context.Context, now time.Time, limit int) ([]core.Cleanup, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := cs.s.reader(ctx).Query(ctx,
		`SELECT event_id, due_ns FROM cleanups WHERE due_ns <= $1 ORDER BY due_ns, event_id LIMIT $2`,
		now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("list due cleanups: %w", err)
	}
	defer rows.Close()
	var out []core.Cleanup
	for rows.Next() {
		var c core.Cleanup
		var due int64
		if err := rows.Scan(&c.EventID, &due); err != nil {
			return nil, fmt.Errorf("read a due cleanup: %w", err)
		}
		c.Due = fromNS(due)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list due cleanups: %w", err)
	}
	return out, nil
}

func (cs cleanupStore) Next(ctx context.Context) (time.Time, bool, error) {
	var due *int64
	if err := cs.s.reader(ctx).QueryRow(ctx, `SELECT MIN(due_ns) FROM cleanups`).Scan(&due); err != nil {
		return time.Time{}, false, fmt.Errorf("find the next due cleanup: %w", err)
	}
	if due == nil {
		return time.Time{}, false, nil
	}
	return fromNS(*due), true, nil
}

func (cs cleanupStore) Done(ctx context.Context, c core.Cleanup) error {
	return cs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if _, err := st.Exec(ctx, `DELETE FROM cleanups WHERE event_id = $1 AND due_ns = $2`,
			c.EventID, c.Due.UnixNano()); err != nil {
			return fmt.Errorf("finish cleanup of event %q: %w", c.EventID, err)
		}
		st.touch(core.TopicCleanup)
		return nil
	})
}

func (cs cleanupStore) Retry(ctx context.Context, c core.Cleanup, at time.Time) error {
	return cs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if _, err := st.Exec(ctx, `UPDATE cleanups SET due_ns = $1 WHERE event_id = $2 AND due_ns = $3`,
			at.UnixNano(), c.EventID, c.Due.UnixNano()); err != nil {
			return fmt.Errorf("postpone cleanup of event %q: %w", c.EventID, err)
		}
		st.touch(core.TopicCleanup)
		return nil
	})
}
