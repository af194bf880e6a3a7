package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

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

// selDoc is what selectors match on (column sel): the event's qualifiers,
// labels and source state. PostgreSQL's jsonb holds no NUL character: one
// in a key or value is stored as U+FFFD, and selectors are cleaned alike.
func selDoc(e *core.Event) (string, error) {
	m := map[string]map[string]string{}
	put := func(k string, v map[string]string) {
		if len(v) > 0 {
			m[k] = cleanMap(v)
		}
	}
	put("q", e.Qualifiers)
	put("l", e.Labels)
	if e.SourceState != nil {
		put("s", e.SourceState.State)
	}
	return marshal("event selector columns", m)
}

func cleanMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ReplaceAll(k, "\x00", "\uFFFD")] = strings.ReplaceAll(v, "\x00", "\uFFFD")
	}
	return out
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
	sel, err := selDoc(e)
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
		// Inserting only when the project exists keeps a missing project
		// from becoming a foreign key error, which would abort the
		// caller's transaction.
		tag, err := st.Exec(ctx,
			`INSERT INTO events (id, project_id, source, type, created_ns, phase, sel, doc)
			 SELECT $1, id, $3, $4, $5, $6, $7, $8 FROM projects WHERE id = $2
			 ON CONFLICT (id) DO NOTHING`,
			e.Metadata.ID, e.ProjectID, e.Source, e.Type, created.UnixNano(), string(workerPhase(e)), sel, doc)
		if err != nil {
			return fmt.Errorf("create event %q: %w", e.Metadata.ID, err)
		}
		if tag.RowsAffected() == 0 {
			if err := mustExist(ctx, st, "Project", projectExists, e.ProjectID); err != nil {
				return err
			}
			return core.NewConflict("Event", e.Metadata.ID, fmt.Sprintf("event %q already exists", e.Metadata.ID))
		}
		for i := range jobs {
			if err := insertJob(ctx, st, e.Metadata.ID, &jobs[i]); err != nil {
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

const (
	projectExists = `SELECT 1 FROM projects WHERE id = $1`
	eventExists   = `SELECT 1 FROM events WHERE id = $1`
)

// mustExist returns NotFoundError{Type: kind} unless query finds a row.
func mustExist(ctx context.Context, q querier, kind, query, id string) error {
	var one int
	err := q.QueryRow(ctx, query, id).Scan(&one)
	if noRows(err) {
		return core.NewNotFound(kind, id)
	}
	if err != nil {
		return fmt.Errorf("look up %s %q: %w", kind, id, err)
	}
	return nil
}

func (es eventStore) Get(ctx context.Context, id string) (*core.Event, error) {
	if err := es.s.lockEvent(ctx, id); err != nil {
		return nil, err
	}
	var e *core.Event
	err := es.s.read(ctx, func(q querier) error {
		var err error
		e, err = getEvent(ctx, q, id)
		return err
	})
	return e, err
}

func (es eventStore) Head(ctx context.Context, id string) (*core.Event, error) {
	if err := es.s.lockEvent(ctx, id); err != nil {
		return nil, err
	}
	return headEvent(ctx, es.s.reader(ctx), id)
}

// headEvent reads an event without its jobs.
func headEvent(ctx context.Context, q querier, id string) (*core.Event, error) {
	var doc string
	err := q.QueryRow(ctx, `SELECT doc FROM events WHERE id = $1`, id).Scan(&doc)
	if noRows(err) {
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

// attachJobs fills Worker.Jobs of each event, in creation order.
func attachJobs(ctx context.Context, q querier, events []core.Event) error {
	if len(events) == 0 {
		return nil
	}
	idx := make(map[string]int, len(events))
	ids := make([]string, len(events))
	for i, e := range events {
		idx[e.Metadata.ID] = i
		ids[i] = e.Metadata.ID
	}
	rows, err := q.Query(ctx, `SELECT event_id, doc FROM jobs WHERE event_id = ANY($1) ORDER BY event_id, seq`, ids)
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
	w := selectorSQL(sel)
	if opts.Continue != "" {
		c, err := parseEventCursor(opts.Continue)
		if err != nil {
			return nil, core.ListMeta{}, err
		}
		c.after(&w)
	}
	var (
		out  []core.Event
		meta core.ListMeta
	)
	err := es.s.read(ctx, func(q querier) error {
		rows, err := q.Query(ctx,
			`SELECT id, created_ns, doc FROM events WHERE `+w.String()+` ORDER BY created_ns DESC, id LIMIT `+strconv.Itoa(limit),
			w.args...)
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
		rest := selectorSQL(sel)
		last.after(&rest)
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE `+rest.String(), rest.args...).
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

func scanEvents(rows pgx.Rows) ([]core.Event, eventCursor, error) {
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
	w := selectorSQL(sel)
	ids, err := eventIDsWhere(ctx, es.s.reader(ctx), w.String()+` ORDER BY created_ns DESC, id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list event ids: %w", err)
	}
	return ids, nil
}

// where builds a condition with numbered parameters.
type where struct {
	conds []string
	args  []any
}

// add appends a condition whose parameters are written "?" in order.
func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	for _, r := range cond {
		if r == '?' {
			w.args = append(w.args, args[0])
			args = args[1:]
			b.WriteString("$" + strconv.Itoa(len(w.args)))
			continue
		}
		b.WriteRune(r)
	}
	w.conds = append(w.conds, b.String())
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return "true"
	}
	return strings.Join(w.conds, " AND ")
}

// selectorSQL turns an event selector into a condition on events. Map
// selectors match by containment in sel: each given pair must be present
// with that value.
func selectorSQL(sel core.EventSelector) where {
	var w where
	eq := func(col, v string) {
		if v != "" {
			w.add(col+" = ?", v)
		}
	}
	eq("project_id", sel.ProjectID)
	eq("source", sel.Source)
	eq("type", sel.Type)
	if len(sel.WorkerPhases) > 0 {
		phases := make([]string, len(sel.WorkerPhases))
		for i, p := range sel.WorkerPhases {
			phases[i] = string(p)
		}
		slices.Sort(phases)
		w.add("phase = ANY(?)", phases)
	}
	m := map[string]map[string]string{}
	if len(sel.Qualifiers) > 0 {
		m["q"] = cleanMap(sel.Qualifiers)
	}
	if len(sel.Labels) > 0 {
		m["l"] = cleanMap(sel.Labels)
	}
	if len(sel.SourceState) > 0 {
		m["s"] = cleanMap(sel.SourceState)
	}
	if len(m) > 0 {
		b, _ := json.Marshal(m) // maps of strings always encode
		w.add("sel @> ?::jsonb", string(b))
	}
	return w
}

// eventCursor is a position in the event order (created desc, id asc),
// written `<createdUnixNanos>:<id>`.
type eventCursor struct {
	createdNS int64
	id        string
}

func (c eventCursor) String() string { return strconv.FormatInt(c.createdNS, 10) + ":" + c.id }

func parseEventCursor(s string) (eventCursor, error) {
	ns, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return eventCursor{}, badCursor(s)
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return eventCursor{}, badCursor(s)
	}
	return eventCursor{createdNS: n, id: id}, nil
}

// after narrows a condition to the events that come after c.
func (c eventCursor) after(w *where) {
	w.add("(created_ns < ? OR (created_ns = ? AND id > ?))", c.createdNS, c.createdNS, c.id)
}
