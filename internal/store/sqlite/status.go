package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Narrow reads for those that follow a worker or a job (the runner, status
// watches): one column, or the status object cut out of the document by
// SQLite, instead of decoding a whole event or job.

// WorkerStatus implements core.EventStore.
func (es eventStore) WorkerStatus(ctx context.Context, id string) (core.WorkerStatus, error) {
	var doc sql.NullString
	err := es.s.reader(ctx).QueryRowContext(ctx,
		`SELECT json_extract(doc, '$.worker.status') FROM events WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return core.WorkerStatus{}, core.NewNotFound("Event", id)
	}
	if err != nil {
		return core.WorkerStatus{}, fmt.Errorf("get worker status of event %q: %w", id, err)
	}
	var st core.WorkerStatus
	if doc.Valid {
		if err := unmarshal("worker status of event "+id, doc.String, &st); err != nil {
			return core.WorkerStatus{}, err
		}
	}
	return st, nil
}

// WorkerPhase implements core.EventStore.
func (es eventStore) WorkerPhase(ctx context.Context, id string) (core.WorkerPhase, error) {
	if es.s.state(ctx) == nil {
		if phase, ok := es.s.jobCache.workerPhase(id); ok {
			return phase, nil
		}
	}
	var phase string
	err := es.s.reader(ctx).QueryRowContext(ctx, `SELECT phase FROM events WHERE id = ?`, id).Scan(&phase)
	if errors.Is(err, sql.ErrNoRows) {
		return "", core.NewNotFound("Event", id)
	}
	if err != nil {
		return "", fmt.Errorf("get worker phase of event %q: %w", id, err)
	}
	return core.WorkerPhase(phase), nil
}

// Status implements core.JobStore.
func (js jobStore) Status(ctx context.Context, eventID, name string) (core.JobStatus, error) {
	if js.s.state(ctx) == nil {
		if j, ok := js.s.jobCache.get(eventID, name); ok {
			var st core.JobStatus
			if j.status != "" {
				if err := unmarshal("status of job "+name, j.status, &st); err != nil {
					return core.JobStatus{}, err
				}
			}
			return st, nil
		}
	}
	q := js.s.reader(ctx)
	var doc sql.NullString
	err := q.QueryRowContext(ctx,
		`SELECT json_extract(doc, '$.status') FROM jobs WHERE event_id = ? AND name = ?`, eventID, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return core.JobStatus{}, jobNotFound(ctx, q, eventID, name)
	}
	if err != nil {
		return core.JobStatus{}, fmt.Errorf("get status of job %q of event %q: %w", name, eventID, err)
	}
	var st core.JobStatus
	if doc.Valid {
		if err := unmarshal("status of job "+name, doc.String, &st); err != nil {
			return core.JobStatus{}, err
		}
	}
	return st, nil
}

// Phase implements core.JobStore.
func (js jobStore) Phase(ctx context.Context, eventID, name string) (core.JobPhase, error) {
	if js.s.state(ctx) == nil {
		if j, ok := js.s.jobCache.get(eventID, name); ok {
			return j.phase, nil
		}
	}
	q := js.s.reader(ctx)
	var phase string
	err := q.QueryRowContext(ctx, `SELECT phase FROM jobs WHERE event_id = ? AND name = ?`, eventID, name).Scan(&phase)
	if errors.Is(err, sql.ErrNoRows) {
		return "", jobNotFound(ctx, q, eventID, name)
	}
	if err != nil {
		return "", fmt.Errorf("get phase of job %q of event %q: %w", name, eventID, err)
	}
	return core.JobPhase(phase), nil
}
