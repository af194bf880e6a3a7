package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// queueStore keeps tasks in the queue table. A task is leasable once
// available_at_ns has passed; a lease pushes available_at_ns out by its
// ttl, so an expired lease makes the task leasable again without any
// sweeper. Leasing takes the oldest leasable row FOR UPDATE SKIP LOCKED:
// schedulers leasing at once get different tasks and never wait on each
// other.
type queueStore struct{ s *Store }

func taskNotFound(id int64) error { return core.NewNotFound("Task", strconv.FormatInt(id, 10)) }

// Enqueue appends a task to its project's queue and sets t.ID and t.Created.
// The event must exist and belong to t.ProjectID (filled in from the event
// when empty).
func (qs queueStore) Enqueue(ctx context.Context, t *core.Task) error {
	if t == nil || t.EventID == "" {
		return core.NewBadRequest("a task needs an event id")
	}
	switch t.Kind {
	case core.TaskWorker:
	case core.TaskJob:
		if t.JobName == "" {
			return core.NewBadRequest("a job task needs a job name")
		}
	default:
		return core.NewBadRequest(fmt.Sprintf("unknown task kind %q", t.Kind))
	}
	return qs.s.write(ctx, func(ctx context.Context, st *txState) error {
		now := qs.s.now().UTC()
		created := t.Created
		if created.IsZero() {
			created = now
		}
		var (
			id      int64
			project string
		)
		err := st.QueryRow(ctx,
			`INSERT INTO queue (kind, project_id, event_id, job_name, available_at_ns, created_ns)
			 SELECT $1, project_id, id, $2, $3, $4 FROM events WHERE id = $5 AND ($6 = '' OR project_id = $6)
			 RETURNING id, project_id`,
			string(t.Kind), t.JobName, now.UnixNano(), created.UnixNano(), t.EventID, t.ProjectID).Scan(&id, &project)
		if noRows(err) {
			return enqueueRefused(ctx, st, t)
		}
		if err != nil {
			return fmt.Errorf("enqueue task for event %q: %w", t.EventID, err)
		}
		t.ID, t.ProjectID, t.Created, t.Attempts = id, project, created.UTC(), 0
		st.touch(core.TopicQueue, core.TopicQueueOf(t.Kind))
		return nil
	})
}

// enqueueRefused explains why no task was inserted for t: its event is
// missing, or belongs to another project than t names.
func enqueueRefused(ctx context.Context, q querier, t *core.Task) error {
	var project string
	err := q.QueryRow(ctx, `SELECT project_id FROM events WHERE id = $1`, t.EventID).Scan(&project)
	if noRows(err) {
		return core.NewNotFound("Event", t.EventID)
	}
	if err != nil {
		return fmt.Errorf("enqueue task for event %q: %w", t.EventID, err)
	}
	return core.NewBadRequest(fmt.Sprintf("task names project %q but event %q belongs to project %q", t.ProjectID, t.EventID, project))
}

func (qs queueStore) Ready(ctx context.Context, kind core.TaskKind) ([]string, error) {
	rows, err := qs.s.reader(ctx).Query(ctx,
		`SELECT DISTINCT project_id FROM queue WHERE kind = $1 AND available_at_ns <= $2 ORDER BY project_id`,
		string(kind), qs.s.now().UnixNano())
	if err != nil {
		return nil, fmt.Errorf("list projects with ready %s tasks: %w", kind, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("read project id: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list projects with ready %s tasks: %w", kind, err)
	}
	return out, nil
}

const (
	leaseAny = `WITH next AS (
		SELECT id FROM queue WHERE kind = $1 AND available_at_ns <= $2
		ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
	UPDATE queue q SET available_at_ns = $3, attempts = q.attempts + 1 FROM next WHERE q.id = next.id
	RETURNING q.id, q.kind, q.project_id, q.event_id, q.job_name, q.attempts - 1, q.created_ns`
	leaseInProject = `WITH next AS (
		SELECT id FROM queue WHERE project_id = $4 AND kind = $1 AND available_at_ns <= $2
		ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
	UPDATE queue q SET available_at_ns = $3, attempts = q.attempts + 1 FROM next WHERE q.id = next.id
	RETURNING q.id, q.kind, q.project_id, q.event_id, q.job_name, q.attempts - 1, q.created_ns`
)

func (qs queueStore) Lease(ctx context.Context, kind core.TaskKind, projectID string, ttl time.Duration) (*core.Task, error) {
	var task *core.Task
	err := qs.s.write(ctx, func(ctx context.Context, st *txState) error {
		now := qs.s.now().UnixNano()
		query, args := leaseAny, []any{string(kind), now, now + int64(ttl)}
		if projectID != "" {
			query, args = leaseInProject, append(args, projectID)
		}
		var (
			t       core.Task
			kindStr string
			created int64
		)
		err := st.QueryRow(ctx, query, args...).
			Scan(&t.ID, &kindStr, &t.ProjectID, &t.EventID, &t.JobName, &t.Attempts, &created)
		if noRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lease a %s task: %w", kind, err)
		}
		t.Kind = core.TaskKind(kindStr) // t.Attempts: the leases before this one
		t.Created = fromNS(created)
		task = &t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

func (qs queueStore) Extend(ctx context.Context, id int64, ttl time.Duration) error {
	return qs.setAvailable(ctx, id, "extend lease of", ttl, false)
}

func (qs queueStore) Nack(ctx context.Context, id int64, delay time.Duration) error {
	return qs.setAvailable(ctx, id, "release", delay, true)
}

// setAvailable makes task id leasable again after d from now.
func (qs queueStore) setAvailable(ctx context.Context, id int64, what string, d time.Duration, notify bool) error {
	return qs.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx, `UPDATE queue SET available_at_ns = $1 WHERE id = $2`, qs.s.now().UnixNano()+int64(d), id)
		if err != nil {
			return fmt.Errorf("%s task %d: %w", what, id, err)
		}
		if tag.RowsAffected() == 0 {
			return taskNotFound(id)
		}
		if notify {
			// Put back: of either kind (the statement does not read it).
			st.touch(core.TopicQueue, core.TopicQueueOf(core.TaskJob), core.TopicQueueOf(core.TaskWorker))
		}
		return nil
	})
}

func (qs queueStore) Ack(ctx context.Context, id int64) error {
	return qs.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx, `DELETE FROM queue WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("acknowledge task %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return taskNotFound(id)
		}
		return nil
	})
}

func (qs queueStore) Len(ctx context.Context, kind core.TaskKind) (int, error) {
	var n int
	if err := qs.s.reader(ctx).QueryRow(ctx, `SELECT COUNT(*) FROM queue WHERE kind = $1`, string(kind)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s tasks: %w", kind, err)
	}
	return n, nil
}

func (qs queueStore) NextDue(ctx context.Context, kind core.TaskKind, after time.Time) (time.Time, bool, error) {
	var due *int64
	if err := qs.s.reader(ctx).QueryRow(ctx,
		`SELECT MIN(available_at_ns) FROM queue WHERE kind = $1 AND available_at_ns > $2`,
		string(kind), after.UnixNano()).Scan(&due); err != nil {
		return time.Time{}, false, fmt.Errorf("find the next due %s task: %w", kind, err)
	}
	if due == nil {
		return time.Time{}, false, nil
	}
	return fromNS(*due), true, nil
}
