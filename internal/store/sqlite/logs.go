package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

type logStore struct{ s *Store }

// logRowsPerInsert bounds one multi-row INSERT (6 parameters a row).
const logRowsPerInsert = 200

const eventExists = `SELECT 1 FROM events WHERE id = ?`

// Append numbers the entries after the stream's last one and stores them.
// An entry without a time is stamped now. NotFoundError if the event does
// not exist.
func (ls logStore) Append(ctx context.Context, s core.LogStream, entries []core.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return ls.s.writeAtomic(ctx, func(ctx context.Context, st *txState) error {
		if err := mustExist(ctx, st, "Event", eventExists, s.EventID); err != nil {
			return err
		}
		var last int64
		if err := st.QueryRowContext(ctx,
			`INSERT INTO log_streams (event_id, job, container, last_seq) VALUES (?, ?, ?, ?)
			 ON CONFLICT (event_id, job, container) DO UPDATE SET last_seq = last_seq + excluded.last_seq
			 RETURNING last_seq`,
			s.EventID, s.Job, s.Container, len(entries)).Scan(&last); err != nil {
			return fmt.Errorf("advance log stream %s: %w", streamName(s), err)
		}
		seq := last - int64(len(entries))
		now := nowNS()
		for start := 0; start < len(entries); start += logRowsPerInsert {
			chunk := entries[start:min(start+logRowsPerInsert, len(entries))]
			var b strings.Builder
			b.WriteString(`INSERT INTO logs (event_id, job, container, seq, time_ns, message) VALUES `)
			args := make([]any, 0, 6*len(chunk))
			for i, e := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?,?,?,?,?,?)")
				seq++
				t := now
				if e.Time != nil {
					t = e.Time.UnixNano()
				}
				args = append(args, s.EventID, s.Job, s.Container, seq, t, e.Message)
			}
			if _, err := st.ExecContext(ctx, b.String(), args...); err != nil {
				return fmt.Errorf("append to log stream %s: %w", streamName(s), err)
			}
		}
		st.touch(core.TopicLogs(s.EventID))
		return nil
	})
}

func streamName(s core.LogStream) string {
	return fmt.Sprintf("%s/%s/%s", s.EventID, s.Job, s.Container)
}

// Read returns up to limit entries with Seq > after, in order; limit <= 0
// means no limit. A stream nothing was written to reads as empty.
func (ls logStore) Read(ctx context.Context, s core.LogStream, after int64, limit int) ([]core.StoredLogEntry, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := ls.s.reader(ctx).QueryContext(ctx,
		`SELECT seq, time_ns, message FROM logs
		 WHERE event_id = ? AND job = ? AND container = ? AND seq > ? ORDER BY seq LIMIT ?`,
		s.EventID, s.Job, s.Container, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read log stream %s: %w", streamName(s), err)
	}
	defer rows.Close()
	var out []core.StoredLogEntry
	for rows.Next() {
		var (
			e  core.StoredLogEntry
			ns int64
		)
		if err := rows.Scan(&e.Seq, &ns, &e.Message); err != nil {
			return nil, fmt.Errorf("read log line of %s: %w", streamName(s), err)
		}
		e.Time = fromNS(ns)
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
		if err := mustExist(ctx, st, "Event", eventExists, s.EventID); err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx,
			`INSERT INTO log_streams (event_id, job, container, closed) VALUES (?, ?, ?, 1)
			 ON CONFLICT (event_id, job, container) DO UPDATE SET closed = 1`,
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
	err := ls.s.reader(ctx).QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM log_streams WHERE event_id = ? AND job = ? AND container = ? AND closed = 1)`,
		s.EventID, s.Job, s.Container).Scan(&closed)
	if err != nil {
		return false, fmt.Errorf("check whether log stream %s is closed: %w", streamName(s), err)
	}
	return closed, nil
}
