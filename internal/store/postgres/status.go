package postgres

import (
	"context"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Changes to an event's worker status, summary and source state, and the
// narrow reads of those that follow a worker or a job. A change reads the
// event's document with its row locked, changes it and writes it back: a
// compare-and-set that loses waits for the winner's commit and then sees
// the phase it wrote (see lockEvent).

// changeEvent applies fn to event id's document under its row lock and
// stores the result; fn's error leaves the event as it was.
func (es eventStore) changeEvent(ctx context.Context, id, what string, fn func(e *core.Event) error) error {
	return es.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := es.s.lockEvent(ctx, id); err != nil {
			return err
		}
		e, err := headEvent(ctx, st, id)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
		doc, err := eventDoc(e)
		if err != nil {
			return err
		}
		sel, err := selDoc(e)
		if err != nil {
			return err
		}
		if _, err := st.Exec(ctx, `UPDATE events SET phase = $1, sel = $2, doc = $3 WHERE id = $4`,
			string(workerPhase(e)), sel, doc, id); err != nil {
			return fmt.Errorf("%s event %q: %w", what, id, err)
		}
		st.touch(core.TopicEvent(id), core.TopicWorker(id))
		return nil
	})
}

func (es eventStore) UpdateWorkerStatus(ctx context.Context, id string, from core.WorkerPhase, status core.WorkerStatus) error {
	return es.changeEvent(ctx, id, "update worker status of", func(e *core.Event) error {
		if phase := workerPhase(e); phase != from {
			return core.NewConflict("Event", id, fmt.Sprintf("%s %q is in phase %q, not %q: someone else changed it first", "Event", id, phase, from))
		}
		if e.Worker == nil {
			e.Worker = &core.Worker{}
		}
		e.Worker.Status = utcWorkerStatus(status)
		return nil
	})
}

func (es eventStore) SetSummary(ctx context.Context, id, summary string) error {
	return es.changeEvent(ctx, id, "set summary of", func(e *core.Event) error {
		e.Summary = summary
		return nil
	})
}

func (es eventStore) SetSourceState(ctx context.Context, id string, state *core.SourceState) error {
	return es.changeEvent(ctx, id, "set source state of", func(e *core.Event) error {
		e.SourceState = state
		return nil
	})
}

func (es eventStore) SetWorkerTokenHash(ctx context.Context, id, hash string) error {
	return es.s.writeAtomic(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx, `UPDATE events SET worker_token_hash = NULLIF($1, '') WHERE id = $2`, hash, id)
		if isUniqueViolation(err) {
			return core.NewConflict("Event", id, "another event's worker already holds that token")
		}
		if err != nil {
			return fmt.Errorf("set worker token of event %q: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return core.NewNotFound("Event", id)
		}
		return nil
	})
}

func (es eventStore) WorkerTokenEvent(ctx context.Context, hash string) (string, error) {
	notFound := &core.NotFoundError{Type: "Event", Reason: "no event's worker holds that token"}
	if hash == "" {
		return "", notFound
	}
	var id string
	err := es.s.reader(ctx).QueryRow(ctx, `SELECT id FROM events WHERE worker_token_hash = $1`, hash).Scan(&id)
	if noRows(err) {
		return "", notFound
	}
	if err != nil {
		return "", fmt.Errorf("find event by worker token: %w", err)
	}
	return id, nil
}

// Delete removes the event; foreign keys cascade to its jobs, logs and tasks.
func (es eventStore) Delete(ctx context.Context, id string) error {
	return es.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx, `DELETE FROM events WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete event %q: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return core.NewNotFound("Event", id)
		}
		st.touch(core.TopicEvent(id), core.TopicWorker(id), core.TopicLogs(id), core.TopicQueue)
		return nil
	})
}

// WorkerStatus implements core.EventStore.
func (es eventStore) WorkerStatus(ctx context.Context, id string) (core.WorkerStatus, error) {
	e, err := es.Head(ctx, id)
	if err != nil {
		return core.WorkerStatus{}, err
	}
	if e.Worker == nil {
		return core.WorkerStatus{}, nil
	}
	return e.Worker.Status, nil
}

// WorkerPhase implements core.EventStore.
func (es eventStore) WorkerPhase(ctx context.Context, id string) (core.WorkerPhase, error) {
	if err := es.s.lockEvent(ctx, id); err != nil {
		return "", err
	}
	var phase string
	err := es.s.reader(ctx).QueryRow(ctx, `SELECT phase FROM events WHERE id = $1`, id).Scan(&phase)
	if noRows(err) {
		return "", core.NewNotFound("Event", id)
	}
	if err != nil {
		return "", fmt.Errorf("get worker phase of event %q: %w", id, err)
	}
	return core.WorkerPhase(phase), nil
}

// Status implements core.JobStore.
func (js jobStore) Status(ctx context.Context, eventID, name string) (core.JobStatus, error) {
	j, err := js.Get(ctx, eventID, name)
	if err != nil {
		return core.JobStatus{}, err
	}
	if j.Status == nil {
		return core.JobStatus{}, nil
	}
	return *j.Status, nil
}

// Phase implements core.JobStore.
func (js jobStore) Phase(ctx context.Context, eventID, name string) (core.JobPhase, error) {
	if err := js.s.lockEvent(ctx, eventID); err != nil {
		return "", err
	}
	q := js.s.reader(ctx)
	var phase string
	err := q.QueryRow(ctx, `SELECT phase FROM jobs WHERE event_id = $1 AND name = $2`, eventID, name).Scan(&phase)
	if noRows(err) {
		return "", jobNotFound(ctx, q, eventID, name)
	}
	if err != nil {
		return "", fmt.Errorf("get phase of job %q of event %q: %w", name, eventID, err)
	}
	return core.JobPhase(phase), nil
}
