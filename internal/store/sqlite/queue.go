package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// queueStore keeps tasks in the queue table. A task is leasable once
// available_at_ns has passed; a lease pushes available_at_ns out by its ttl,
// so an expired lease makes the task leasable again without any sweeper.
type queueStore struct{ s *Store }

func taskNotFound(id int64) error { return core.NewNotFound("Task", strconv.FormatInt(id, 10)) }

// Enqueue appends a task to its project's queue and sets t.ID and t.Created.
// The event must exist and belong to t.ProjectID (which is filled in from
// the event when empty).
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
		// One statement takes the project from the event and inserts;
		// only when it inserts nothing is the event looked at to say why.
		// (No RETURNING: it makes SQLite buffer the row in a temporary
		// table, which cost more than the insert.)
		res, err := st.ExecContext(ctx,
			`INSERT INTO queue (kind, project_id, event_id, job_name, available_at_ns, created_ns)
			 SELECT ?1, project_id, id, ?2, ?3, ?4 FROM events WHERE id = ?5 AND (?6 = '' OR project_id = ?6)`,
			string(t.Kind), t.JobName, now.UnixNano(), created.UnixNano(), t.EventID, t.ProjectID)
		if err != nil {
			return fmt.Errorf("enqueue task for event %q: %w", t.EventID, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return enqueueRefused(ctx, st, t)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("enqueue task for event %q: read its id: %w", t.EventID, err)
		}
		if t.ProjectID == "" {
			if err := st.QueryRowContext(ctx, `SELECT project_id FROM queue WHERE id = ?`, id).Scan(&t.ProjectID); err != nil {
				return fmt.Errorf("enqueue task for event %q: read its project: %w", t.EventID, err)
			}
		}
		t.ID, t.Created, t.Attempts = id, created.UTC(), 0
		st.touch(core.TopicQueue, core.TopicQueueOf(t.Kind))
		return nil
	})
}

// enqueueRefused explains why no task was inserted for t: its event is
// missing, or belongs to another project than t names.
func enqueueRefused(ctx context.Context, q querier, t *core.Task) error {
	var project string
	err := q.QueryRowContext(ctx, `SELECT project_id FROM events WHERE id = ?`, t.EventID).Scan(&project)
	if errors.Is(err, sql.ErrNoRows) {
		return core.NewNotFound("Event", t.EventID)
	}
	if err != nil {
		return fmt.Errorf("enqueue task for event %q: %w", t.EventID, err)
	}
	return core.NewBadRequest(fmt.Sprintf("task names project %q but event %q belongs to project %q", t.ProjectID, t.EventID, project))
}

// The queue's questions, all answered from the index queue_by_project
// (kind, project_id, id, available_at_ns): TestQueuePlans checks that they
// are, without a temporary sort and without reading the table.
const (
	// readyQuery: which projects have a task of kind ?1 due by ?2. A
	// skip-scan: each step seeks the next project that has one, so the cost
	// grows with the projects that have one, not with the tasks queued
	// (SELECT DISTINCT would read them all).
	readyQuery = `WITH RECURSIVE ready(project_id) AS (
			SELECT (SELECT project_id FROM queue WHERE kind = ?1 AND available_at_ns <= ?2
				ORDER BY project_id LIMIT 1)
			UNION ALL
			SELECT (SELECT q.project_id FROM queue q WHERE q.kind = ?1 AND q.project_id > ready.project_id
				AND q.available_at_ns <= ?2 ORDER BY q.project_id LIMIT 1)
			FROM ready WHERE ready.project_id IS NOT NULL
		)
		SELECT project_id FROM ready WHERE project_id IS NOT NULL`
	// leaseQuery: project ?3's first task of kind ?1 due by ?2.
	leaseQuery = `SELECT id, kind, project_id, event_id, job_name, attempts, created_ns FROM queue
		WHERE kind = ?1 AND project_id = ?3 AND available_at_ns <= ?2 ORDER BY id LIMIT 1`
	// leaseAnyQuery: the first task of kind ?1 due by ?2, of any project.
	// It sorts the kind's due tasks (a temporary b-tree), which is fine
	// because only tests ask it: the runner always names the project.
	leaseAnyQuery = `SELECT id, kind, project_id, event_id, job_name, attempts, created_ns FROM queue
		WHERE kind = ?1 AND available_at_ns <= ?2 ORDER BY id LIMIT 1`
	lenQuery     = `SELECT COUNT(*) FROM queue WHERE kind = ?`
	nextDueQuery = `SELECT MIN(available_at_ns) FROM queue WHERE kind = ? AND available_at_ns > ?`
)

func (qs queueStore) Ready(ctx context.Context, kind core.TaskKind) ([]string, error) {
	rows, err := qs.s.reader(ctx).QueryContext(ctx, readyQuery, string(kind), qs.s.now().UnixNano())
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

func (qs queueStore) Lease(ctx context.Context, kind core.TaskKind, projectID string, ttl time.Duration) (*core.Task, error) {
	var task *core.Task
	err := qs.s.write(ctx, func(ctx context.Context, st *txState) error {
		now := qs.s.now().UnixNano()
		// Read the first leasable task, then push it out: two statements
		// of the same transaction, cheaper than one UPDATE ... RETURNING
		// (which runs into a temporary table and reads it back).
		pick := leaseAnyQuery
		if projectID != "" {
			pick = leaseQuery
		}
		var (
			t       core.Task
			kindStr string
			created int64
		)
		err := st.QueryRowContext(ctx, pick, string(kind), now, projectID).
			Scan(&t.ID, &kindStr, &t.ProjectID, &t.EventID, &t.JobName, &t.Attempts, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lease a %s task: %w", kind, err)
		}
		if _, err := st.ExecContext(ctx, `UPDATE queue SET available_at_ns = ?, attempts = attempts + 1 WHERE id = ?`,
			now+int64(ttl), t.ID); err != nil {
			return fmt.Errorf("lease %s task %d: %w", kind, t.ID, err)
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
		res, err := st.ExecContext(ctx, `UPDATE queue SET available_at_ns = ? WHERE id = ?`, qs.s.now().UnixNano()+int64(d), id)
		if err != nil {
			return fmt.Errorf("%s task %d: %w", what, id, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
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
		res, err := st.ExecContext(ctx, `DELETE FROM queue WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("acknowledge task %d: %w", id, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return taskNotFound(id)
		}
		return nil
	})
}

func (qs queueStore) Len(ctx context.Context, kind core.TaskKind) (int, error) {
	var n int
	if err := qs.s.reader(ctx).QueryRowContext(ctx, lenQuery, string(kind)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s tasks: %w", kind, err)
	}
	return n, nil
}

func (qs queueStore) NextDue(ctx context.Context, kind core.TaskKind, after time.Time) (time.Time, bool, error) {
	var due sql.NullInt64
	if err := qs.s.reader(ctx).QueryRowContext(ctx, nextDueQuery, string(kind), after.UnixNano()).Scan(&due); err != nil {
		return time.Time{}, false, fmt.Errorf("find the next due %s task: %w", kind, err)
	}
	if !due.Valid {
		return time.Time{}, false, nil
	}
	return fromNS(due.Int64), true, nil
}
