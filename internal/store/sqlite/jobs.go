package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

type jobStore struct{ s *Store }

// jobDoc encodes a job as stored, times in UTC, and its status as stored
// in it ("" without one), for the job cache.
func jobDoc(j *core.Job) (doc, status string, err error) {
	c := *j
	c.Created = utcPtr(c.Created)
	if c.Status != nil {
		st := *c.Status
		st.Started, st.Ended = utcPtr(st.Started), utcPtr(st.Ended)
		c.Status = &st
		if status, err = marshal("job status", &st); err != nil {
			return "", "", err
		}
	}
	doc, err = marshal("job", &c)
	return doc, status, err
}

func jobPhase(j *core.Job) string {
	if j.Status == nil {
		return ""
	}
	return string(j.Status.Phase)
}

// insertJobQuery adds a job (?1 event, ?2 name, ?4 phase, ?5 document) at
// position ?3, or after the event's last job when ?3 is 0 (a seek in
// jobs_by_seq: TestJobPlans).
const insertJobQuery = `INSERT INTO jobs (event_id, name, seq, phase, doc)
	VALUES (?1, ?2, CASE WHEN ?3 > 0 THEN ?3 ELSE (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs WHERE event_id = ?1) END, ?4, ?5)
	ON CONFLICT (event_id, name) DO NOTHING`

// insertJob adds a job at position seq (0: after the event's last job).
func insertJob(ctx context.Context, st *txState, eventID string, j *core.Job, seq int64) error {
	if j.Name == "" {
		return core.NewBadRequest("a job needs a name")
	}
	stamp(&j.Created)
	doc, status, err := jobDoc(j)
	if err != nil {
		return err
	}
	res, err := st.ExecContext(ctx, insertJobQuery, eventID, j.Name, seq, jobPhase(j), doc)
	if err != nil {
		return fmt.Errorf("create job %q of event %q: %w", j.Name, eventID, err)
	}
	n, err := affected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return core.NewConflict("Job", j.Name, fmt.Sprintf("event %q already has a job named %q", eventID, j.Name))
	}
	st.setJob(eventID, j.Name, core.JobPhase(jobPhase(j)), status)
	return nil
}

func (js jobStore) Create(ctx context.Context, eventID string, j *core.Job) error {
	if j == nil || j.Name == "" {
		return core.NewBadRequest("a job needs a name")
	}
	return js.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := mustExist(ctx, st, "Event", `SELECT 1 FROM events WHERE id = ?`, eventID); err != nil {
			return err
		}
		if err := insertJob(ctx, st, eventID, j, 0); err != nil {
			return err
		}
		st.touch(core.TopicEvent(eventID), core.TopicJob(eventID, j.Name))
		return nil
	})
}

func (js jobStore) Replace(ctx context.Context, eventID string, j *core.Job) error {
	if j == nil || j.Name == "" {
		return core.NewBadRequest("a job needs a name")
	}
	stamp(&j.Created)
	doc, status, err := jobDoc(j)
	if err != nil {
		return err
	}
	return js.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx,
			`UPDATE jobs SET phase = ?, doc = ? WHERE event_id = ? AND name = ?`,
			jobPhase(j), doc, eventID, j.Name)
		if err != nil {
			return fmt.Errorf("replace job %q of event %q: %w", j.Name, eventID, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return jobNotFound(ctx, st, eventID, j.Name)
		}
		st.setJob(eventID, j.Name, core.JobPhase(jobPhase(j)), status)
		st.touch(core.TopicEvent(eventID), core.TopicJob(eventID, j.Name))
		return nil
	})
}

// jobNotFound tells a missing event from a missing job.
func jobNotFound(ctx context.Context, q querier, eventID, name string) error {
	if err := mustExist(ctx, q, "Event", `SELECT 1 FROM events WHERE id = ?`, eventID); err != nil {
		return err
	}
	return &core.NotFoundError{Type: "Job", ID: name,
		Reason: fmt.Sprintf("event %q has no job named %q", eventID, name)}
}

func (js jobStore) Get(ctx context.Context, eventID, name string) (*core.Job, error) {
	q := js.s.reader(ctx)
	var doc string
	err := q.QueryRowContext(ctx, `SELECT doc FROM jobs WHERE event_id = ? AND name = ?`, eventID, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jobNotFound(ctx, q, eventID, name)
	}
	if err != nil {
		return nil, fmt.Errorf("get job %q of event %q: %w", name, eventID, err)
	}
	var j core.Job
	if err := unmarshal("job "+name, doc, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// List returns the event's jobs in creation order; NotFoundError if the
// event does not exist.
func (js jobStore) List(ctx context.Context, eventID string) ([]core.Job, error) {
	var out []core.Job
	err := js.s.read(ctx, func(q querier) error {
		events := []core.Event{{Metadata: core.ObjectMeta{ID: eventID}}}
		if err := attachJobs(ctx, q, events); err != nil {
			return err
		}
		if events[0].Worker != nil {
			out = events[0].Worker.Jobs
			return nil
		}
		return mustExist(ctx, q, "Event", `SELECT 1 FROM events WHERE id = ?`, eventID)
	})
	return out, err
}

func (js jobStore) UpdateStatus(ctx context.Context, eventID, name string, from core.JobPhase, status core.JobStatus) error {
	status.Started, status.Ended = utcPtr(status.Started), utcPtr(status.Ended)
	doc, err := marshal("job status", status)
	if err != nil {
		return err
	}
	return js.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx,
			`UPDATE jobs SET phase = ?, doc = json_set(doc, '$.status', json(?))
			 WHERE event_id = ? AND name = ? AND phase = ?`,
			string(status.Phase), doc, eventID, name, string(from))
		if err != nil {
			return fmt.Errorf("update status of job %q of event %q: %w", name, eventID, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			var phase string
			err := st.QueryRowContext(ctx, `SELECT phase FROM jobs WHERE event_id = ? AND name = ?`, eventID, name).Scan(&phase)
			if errors.Is(err, sql.ErrNoRows) {
				return jobNotFound(ctx, st, eventID, name)
			}
			if err != nil {
				return fmt.Errorf("look up phase of job %q of event %q: %w", name, eventID, err)
			}
			return core.NewConflict("Job", name, fmt.Sprintf("job %q of event %q is in phase %q, not %q: someone else changed it first", name, eventID, phase, from))
		}
		st.setJob(eventID, name, status.Phase, doc)
		st.touch(core.TopicEvent(eventID), core.TopicJob(eventID, name))
		return nil
	})
}

func (js jobStore) SetEnvironment(ctx context.Context, eventID, name string, sealed []byte) error {
	return js.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx, `UPDATE jobs SET sealed_env = ? WHERE event_id = ? AND name = ?`,
			sealed, eventID, name)
		if err != nil {
			return fmt.Errorf("store environment of job %q of event %q: %w", name, eventID, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return jobNotFound(ctx, st, eventID, name)
		}
		return nil
	})
}

func (js jobStore) Environment(ctx context.Context, eventID, name string) ([]byte, error) {
	q := js.s.reader(ctx)
	var sealed []byte
	err := q.QueryRowContext(ctx, `SELECT sealed_env FROM jobs WHERE event_id = ? AND name = ?`, eventID, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jobNotFound(ctx, q, eventID, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read environment of job %q of event %q: %w", name, eventID, err)
	}
	return sealed, nil
}

func (js jobStore) CountInPhases(ctx context.Context, phases []core.JobPhase) (int, error) {
	if len(phases) == 0 {
		return 0, nil
	}
	args := make([]any, len(phases))
	marks := make([]string, len(phases))
	for i, p := range phases {
		args[i], marks[i] = string(p), "?"
	}
	var n int
	err := js.s.reader(ctx).QueryRowContext(ctx,
		`SELECT COUNT(*) FROM jobs WHERE phase IN (`+strings.Join(marks, ",")+`)`, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count jobs by phase: %w", err)
	}
	return n, nil
}
