package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/core"
)

type eventStore struct{ s *Store }

// eventDoc encodes an event as stored: times in UTC, without worker.jobs
// (those are rows of jobs).
func eventDoc(e *core.Event) (string, error) {
	c := *e
	c.Metadata.Created = utcPtr(c.Metadata.Created)
	if e.Worker != nil {
		w := *e.Worker
		w.Jobs = nil
		w.Status = utcWorkerStatus(w.Status)
		c.Worker = &w
	}
	return marshal("event", &c)
}

func utcWorkerStatus(s core.WorkerStatus) core.WorkerStatus {
	s.Started, s.Ended = utcPtr(s.Started), utcPtr(s.Ended)
	return s
}

func workerPhase(e *core.Event) core.WorkerPhase {
	if e.Worker == nil {
		return ""
	}
	return e.Worker.Status.Phase
}

// Create stores the event and, in creation order, any jobs its worker
// already has (retries carry the original's succeeded jobs).
func (es eventStore) Create(ctx context.Context, e *core.Event) error {
	if e == nil || e.Metadata.ID == "" {
		return core.NewBadRequest("an event needs an id")
	}
	if e.ProjectID == "" {
		return core.NewBadRequest("an event needs a projectID")
	}
	created := stamp(&e.Metadata.Created)
	doc, err := eventDoc(e)
	if err != nil {
		return err
	}
	var jobs []core.Job
	if e.Worker != nil {
		jobs = e.Worker.Jobs
	}
	write := es.s.write
	if len(jobs) > 0 {
		write = es.s.writeAtomic
	}
	return write(ctx, func(ctx context.Context, st *txState) error {
		// The project's foreign key checks that it exists (the only
		// foreign key of events): no separate look-up on the way in.
		res, err := st.ExecContext(ctx,
			`INSERT INTO events (id, project_id, source, type, created_ns, phase, doc)
			 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			e.Metadata.ID, e.ProjectID, e.Source, e.Type, created.UnixNano(), string(workerPhase(e)), doc)
		if isForeignKeyViolation(err) {
			return core.NewNotFound("Project", e.ProjectID)
		}
		if err != nil {
			return fmt.Errorf("create event %q: %w", e.Metadata.ID, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			// An existing id skips the foreign key check: a missing
			// project still comes first.
			if err := mustExist(ctx, st, "Project", `SELECT 1 FROM projects WHERE id = ?`, e.ProjectID); err != nil {
				return err
			}
			return core.NewConflict("Event", e.Metadata.ID, fmt.Sprintf("event %q already exists", e.Metadata.ID))
		}
		st.setWorker(e.Metadata.ID, workerPhase(e))
		for i := range jobs {
			if err := insertJob(ctx, st, e.Metadata.ID, &jobs[i], int64(i+1)); err != nil {
				return err
			}
		}
		st.touch(core.TopicEvent(e.Metadata.ID), core.TopicWorker(e.Metadata.ID))
		for i := range jobs {
			st.touch(core.TopicJob(e.Metadata.ID, jobs[i].Name))
		}
		return nil
	})
}

// mustExist returns NotFoundError{Type: kind} unless query finds a row.
func mustExist(ctx context.Context, q querier, kind, query, id string) error {
	var one int
	err := q.QueryRowContext(ctx, query, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return core.NewNotFound(kind, id)
	}
	if err != nil {
		return fmt.Errorf("look up %s %q: %w", kind, id, err)
	}
	return nil
}

func (es eventStore) Get(ctx context.Context, id string) (*core.Event, error) {
	var e *core.Event
	err := es.s.read(ctx, func(q querier) error {
		var err error
		e, err = getEvent(ctx, q, id)
		return err
	})
	return e, err
}

func (es eventStore) Head(ctx context.Context, id string) (*core.Event, error) {
	return headEvent(ctx, es.s.reader(ctx), id)
}

// headEvent reads an event without its jobs.
func headEvent(ctx context.Context, q querier, id string) (*core.Event, error) {
	var doc string
	err := q.QueryRowContext(ctx, `SELECT doc FROM events WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, core.NewNotFound("Event", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get event %q: %w", id, err)
	}
	var e core.Event
	if err := unmarshal("event "+id, doc, &e); err != nil {
		return nil, err
	}
	if e.Worker != nil {
		e.Worker.Jobs = nil
	}
	return &e, nil
}

func getEvent(ctx context.Context, q querier, id string) (*core.Event, error) {
	e, err := headEvent(ctx, q, id)
	if err != nil {
		return nil, err
	}
	events := []core.Event{*e}
	if err := attachJobs(ctx, q, events); err != nil {
		return nil, err
	}
	return &events[0], nil
}

// jobsOfEventsQuery reads the jobs of n events in creation order, walking
// jobs_by_seq (TestJobPlans).
func jobsOfEventsQuery(n int) string {
	return `SELECT event_id, doc FROM jobs WHERE event_id IN (` + placeholders(n) + `) ORDER BY event_id, seq`
}

// attachJobs fills Worker.Jobs of each event, in creation order.
func attachJobs(ctx context.Context, q querier, events []core.Event) error {
	if len(events) == 0 {
		return nil
	}
	idx := make(map[string]int, len(events))
	args := make([]any, len(events))
	for i, e := range events {
		idx[e.Metadata.ID] = i
		args[i] = e.Metadata.ID
	}
	rows, err := q.QueryContext(ctx, jobsOfEventsQuery(len(args)), args...)
	if err != nil {
		return fmt.Errorf("load jobs of events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var eventID, doc string
		if err := rows.Scan(&eventID, &doc); err != nil {
			return fmt.Errorf("read job row: %w", err)
		}
		var j core.Job
		if err := unmarshal("job of event "+eventID, doc, &j); err != nil {
			return err
		}
		e := &events[idx[eventID]]
		if e.Worker == nil {
			e.Worker = &core.Worker{}
		}
		e.Worker.Jobs = append(e.Worker.Jobs, j)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load jobs of events: %w", err)
	}
	return nil
}

func (es eventStore) List(ctx context.Context, sel core.EventSelector, opts core.ListOptions) ([]core.Event, core.ListMeta, error) {
	limit := pageLimit(opts.Limit)
	where, args := selectorSQL(sel)
	if opts.Continue != "" {
		c, err := parseEventCursor(opts.Continue)
		if err != nil {
			return nil, core.ListMeta{}, err
		}
		where, args = c.after(where, args)
	}
	var (
		out  []core.Event
		meta core.ListMeta
	)
	err := es.s.read(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx,
			`SELECT id, created_ns, doc FROM events WHERE `+where+` ORDER BY created_ns DESC, id LIMIT ?`,
			append(args, limit)...)
		if err != nil {
			return fmt.Errorf("list events: %w", err)
		}
		var last eventCursor
		out, last, err = scanEvents(rows)
		if err != nil {
			return err
		}
		if err := attachJobs(ctx, q, out); err != nil {
			return err
		}
		if len(out) < limit {
			return nil
		}
		rest, restArgs := selectorSQL(sel)
		rest, restArgs = last.after(rest, restArgs)
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE `+rest, restArgs...).
			Scan(&meta.RemainingItemCount); err != nil {
			return fmt.Errorf("count remaining events: %w", err)
		}
		if meta.RemainingItemCount > 0 {
			meta.Continue = last.String()
		}
		return nil
	})
	if err != nil {
		return nil, core.ListMeta{}, err
	}
	return out, meta, nil
}

func scanEvents(rows *sql.Rows) ([]core.Event, eventCursor, error) {
	defer rows.Close()
	var (
		out  []core.Event
		last eventCursor
	)
	for rows.Next() {
		var doc string
		if err := rows.Scan(&last.id, &last.createdNS, &doc); err != nil {
			return nil, last, fmt.Errorf("read event row: %w", err)
		}
		var e core.Event
		if err := unmarshal("event "+last.id, doc, &e); err != nil {
			return nil, last, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, last, fmt.Errorf("read events: %w", err)
	}
	return out, last, nil
}

func (es eventStore) IDs(ctx context.Context, sel core.EventSelector) ([]string, error) {
	where, args := selectorSQL(sel)
	ids, err := eventIDsWhere(ctx, es.s.reader(ctx), where+` ORDER BY created_ns DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list event ids: %w", err)
	}
	return ids, nil
}

func (es eventStore) UpdateWorkerStatus(ctx context.Context, id string, from core.WorkerPhase, status core.WorkerStatus) error {
	doc, err := marshal("worker status", utcWorkerStatus(status))
	if err != nil {
		return err
	}
	return es.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx,
			`UPDATE events SET phase = ?, doc = json_set(doc, '$.worker.status', json(?))
			 WHERE id = ? AND phase = ?`, string(status.Phase), doc, id, string(from))
		if err != nil {
			return fmt.Errorf("update worker status of event %q: %w", id, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return phaseConflict(ctx, st, "Event", id, from,
				`SELECT phase FROM events WHERE id = ?`, id)
		}
		st.setWorker(id, status.Phase)
		st.touch(core.TopicEvent(id), core.TopicWorker(id))
		return nil
	})
}

// phaseConflict explains why a compare-and-set changed nothing: the object
// is missing (NotFoundError) or its phase is no longer `from` (ConflictError).
func phaseConflict(ctx context.Context, q querier, kind, id string, from core.WorkerPhase, query string, args ...any) error {
	var phase string
	err := q.QueryRowContext(ctx, query, args...).Scan(&phase)
	if errors.Is(err, sql.ErrNoRows) {
		return core.NewNotFound(kind, id)
	}
	if err != nil {
		return fmt.Errorf("look up phase of %s %q: %w", kind, id, err)
	}
	return core.NewConflict(kind, id, fmt.Sprintf("%s %q is in phase %q, not %q: someone else changed it first", kind, id, phase, from))
}

func (es eventStore) SetSummary(ctx context.Context, id, summary string) error {
	query, args := `UPDATE events SET doc = json_set(doc, '$.summary', ?) WHERE id = ?`, []any{summary, id}
	if summary == "" {
		query, args = `UPDATE events SET doc = json_remove(doc, '$.summary') WHERE id = ?`, []any{id}
	}
	return es.update(ctx, id, "set summary of", query, args...)
}

func (es eventStore) SetSourceState(ctx context.Context, id string, state *core.SourceState) error {
	if state == nil {
		return es.update(ctx, id, "clear source state of",
			`UPDATE events SET doc = json_remove(doc, '$.sourceState') WHERE id = ?`, id)
	}
	doc, err := marshal("source state", state)
	if err != nil {
		return err
	}
	return es.update(ctx, id, "set source state of",
		`UPDATE events SET doc = json_set(doc, '$.sourceState', json(?)) WHERE id = ?`, doc, id)
}

// update runs a one-row UPDATE of event id, NotFoundError if it is missing.
func (es eventStore) update(ctx context.Context, id, what, query string, args ...any) error {
	return es.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("%s event %q: %w", what, id, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return core.NewNotFound("Event", id)
		}
		st.touch(core.TopicEvent(id), core.TopicWorker(id))
		return nil
	})
}

func (es eventStore) SetWorkerTokenHash(ctx context.Context, id, hash string) error {
	return es.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx,
			`UPDATE events SET worker_token_hash = NULLIF(?, '') WHERE id = ?`, hash, id)
		if isUniqueViolation(err) {
			return core.NewConflict("Event", id, "another event's worker already holds that token")
		}
		if err != nil {
			return fmt.Errorf("set worker token of event %q: %w", id, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return core.NewNotFound("Event", id)
		}
		st.setToken(id, hash)
		return nil
	})
}

func (es eventStore) WorkerTokenEvent(ctx context.Context, hash string) (string, error) {
	notFound := &core.NotFoundError{Type: "Event", Reason: "no event's worker holds that token"}
	if hash == "" {
		return "", notFound
	}
	if es.s.state(ctx) == nil {
		if id, ok := es.s.jobCache.tokenEvent(hash); ok {
			return id, nil
		}
	}
	var id string
	err := es.s.reader(ctx).QueryRowContext(ctx, `SELECT id FROM events WHERE worker_token_hash = ?`, hash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
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
		res, err := st.ExecContext(ctx, `DELETE FROM events WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete event %q: %w", id, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return core.NewNotFound("Event", id)
		}
		st.dropJobs(id)
		st.touch(core.TopicEvent(id), core.TopicWorker(id), core.TopicLogs(id), core.TopicQueue)
		return nil
	})
}
