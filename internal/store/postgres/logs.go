package postgres

import (
	"context"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Log lines are rows of logs, one per line, numbered densely per stream:
// an Append advances its stream's last_seq (the stream's row lock makes
// concurrent appends take turns, so their lines never interleave) and
// inserts every line with one statement.
type logStore struct{ s *Store }

func streamName(s core.LogStream) string {
	return fmt.Sprintf("%s/%s/%s", s.EventID, s.Job, s.Container)
}

// Append numbers the entries after the stream's last one and stores them.
// An entry without a time is stamped now. NotFoundError if the event does
// not exist.
func (ls logStore) Append(ctx context.Context, s core.LogStream, entries []core.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := nowNS()
	times := make([]int64, len(entries))
	msgs := make([][]byte, len(entries))
	for i, e := range entries {
		times[i] = now
		if e.Time != nil {
			times[i] = e.Time.UnixNano()
		}
		msgs[i] = []byte(e.Message)
	}
	return ls.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := mustExist(ctx, st, "Event", eventExists+` FOR KEY SHARE`, s.EventID); err != nil {
			return err
		}
		var last int64
		if err := st.QueryRow(ctx,
			`INSERT INTO log_streams AS l (event_id, job, container, last_seq) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (event_id, job, container) DO UPDATE SET last_seq = l.last_seq + excluded.last_seq
			 RETURNING last_seq`,
			s.EventID, s.Job, s.Container, len(entries)).Scan(&last); err != nil {
			return fmt.Errorf("advance log stream %s: %w", streamName(s), err)
		}
		if _, err := st.Exec(ctx,
			`INSERT INTO logs (event_id, job, container, seq, time_ns, message)
			 SELECT $1, $2, $3, $4 + l.n, l.t, l.m FROM unnest($5::bigint[], $6::bytea[]) WITH ORDINALITY AS l (t, m, n)`,
			s.EventID, s.Job, s.Container, last-int64(len(entries)), times, msgs); err != nil {
			return fmt.Errorf("append to log stream %s: %w", streamName(s), err)
		}
		st.touch(core.TopicLogs(s.EventID))
		return nil
	})
}

// Read returns up to limit entries with Seq > after, in order; limit <= 0
// means no limit. A stream nothing was written to reads as empty.
func (ls logStore) Read(ctx context.Context, s core.LogStream, after int64, limit int) ([]core.StoredLogEntry, error) {
	query := `SELECT seq, time_ns, message FROM logs
		WHERE event_id = $1 AND job = $2 AND container = $3 AND seq > $4 ORDER BY seq`
	args := []any{s.EventID, s.Job, s.Container, after}
	if limit > 0 {
		query += ` LIMIT $5`
		args = append(args, limit)
	}
	rows, err := ls.s.reader(ctx).Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read log stream %s: %w", streamName(s), err)
	}
	defer rows.Close()
	var out []core.StoredLogEntry
	for rows.Next() {
		var (
			e   core.StoredLogEntry
			ns  int64
			msg []byte
		)
		if err := rows.Scan(&e.Seq, &ns, &msg); err != nil {
			return nil, fmt.Errorf("read log lines of %s: %w", streamName(s), err)
		}
		e.Time, e.Message = fromNS(ns), string(msg)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log stream %s: %w", streamName(s), err)
	}
	return out, nil
}

// Close marks the stream complete. NotFoundError if the event does not exist.
func (ls logStore) Close(ctx context.Context, s core.LogStream) error {
	return ls.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := mustExist(ctx, st, "Event", eventExists+` FOR KEY SHARE`, s.EventID); err != nil {
			return err
		}
		if _, err := st.Exec(ctx,
			`INSERT INTO log_streams (event_id, job, container, closed) VALUES ($1, $2, $3, true)
			 ON CONFLICT (event_id, job, container) DO UPDATE SET closed = true`,
			s.EventID, s.Job, s.Container); err != nil {
			return fmt.Errorf("close log stream %s: %w", streamName(s), err)
		}
		st.touch(core.TopicLogs(s.EventID))
		return nil
	})
}

// IsClosed reports whether Close was called; false for an unknown stream.
func (ls logStore) IsClosed(ctx context.Context, s core.LogStream) (bool, error) {
	var closed bool
	err := ls.s.reader(ctx).QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM log_streams WHERE event_id = $1 AND job = $2 AND container = $3 AND closed)`,
		s.EventID, s.Job, s.Container).Scan(&closed)
	if err != nil {
		return false, fmt.Errorf("check whether log stream %s is closed: %w", streamName(s), err)
	}
	return closed, nil
}
