package postgres

import (
	"context"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/core"
)

type jobStore struct{ s *Store }

// jobDoc encodes a job as stored, times in UTC.
func jobDoc(j *core.Job) (string, error) {
	c := *j
	c.Created = utcPtr(c.Created)
	if c.Status != nil {
		st := *c.Status
		st.Started, st.Ended = utcPtr(st.Started), utcPtr(st.Ended)
		c.Status = &st
	}
	return marshal("job", &c)
}

func jobPhase(j *core.Job) string {
	if j.Status == nil {
		return ""
	}
	return string(j.Status.Phase)
}

// insertJob adds a job after the event's last one (seq comes from a
// sequence, so it orders jobs by creation).
func insertJob(ctx context.Context, q querier, eventID string, j *core.Job) error {
	if j.Name == "" {
		return core.NewBadRequest("a job needs a name")
	}
	stamp(&j.Created)
	doc, err := jobDoc(j)
	if err != nil {
		return err
	}
	tag, err := q.Exec(ctx,
		`INSERT INTO jobs (event_id, name, phase, doc) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id, name) DO NOTHING`,
		eventID, j.Name, jobPhase(j), doc)
	if err != nil {
		return fmt.Errorf("create job %q of event %q: %w", j.Name, eventID, err)
	}
	if tag.RowsAffected() == 0 {
		return core.NewConflict("Job", j.Name, fmt.Sprintf("event %q already has a job named %q", eventID, j.Name))
	}
	return nil
}

func (js jobStore) Create(ctx context.Context, eventID string, j *core.Job) error {
	if j == nil || j.Name == "" {
		return core.NewBadRequest("a job needs a name")
	}
	return js.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := js.s.lockEvent(ctx, eventID); err != nil {
			return err
		}
		if err := mustExist(ctx, st, "Event", eventExists, eventID); err != nil {
			return err
		}
		if err := insertJob(ctx, st, eventID, j); err != nil {
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
	doc, err := jobDoc(j)
	if err != nil {
		return err
	}
	return js.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := js.s.lockEvent(ctx, eventID); err != nil {
			return err
		}
		tag, err := st.Exec(ctx, `UPDATE jobs SET phase = $1, doc = $2 WHERE event_id = $3 AND name = $4`,
			jobPhase(j), doc, eventID, j.Name)
		if err != nil {
			return fmt.Errorf("replace job %q of event %q: %w", j.Name, eventID, err)
		}
		if tag.RowsAffected() == 0 {
			return jobNotFound(ctx, st, eventID, j.Name)
		}
		st.touch(core.TopicEvent(eventID), core.TopicJob(eventID, j.Name))
		return nil
	})
}

// jobNotFound tells a missing event from a missing job.
func jobNotFound(ctx context.Context, q querier, eventID, name string) error {
	if err := mustExist(ctx, q, "Event", eventExists, eventID); err != nil {
		return err
	}
	return &core.NotFoundError{Type: "Job", ID: name,
		Reason: fmt.Sprintf("event %q has no job named %q", eventID, name)}
}

func (js jobStore) Get(ctx context.Context, eventID, name string) (*core.Job, error) {
	if err := js.s.lockEvent(ctx, eventID); err != nil {
		return nil, err
	}
	return getJob(ctx, js.s.reader(ctx), eventID, name, false)
}

// getJob reads a job; forUpdate locks its row.
func getJob(ctx context.Context, q querier, eventID, name string, forUpdate bool) (*core.Job, error) {
	query := `SELECT doc FROM jobs WHERE event_id = $1 AND name = $2`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var doc string
	err := q.QueryRow(ctx, query, eventID, name).Scan(&doc)
	if noRows(err) {
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
	if err := js.s.lockEvent(ctx, eventID); err != nil {
		return nil, err
	}
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
		return mustExist(ctx, q, "Event", eventExists, eventID)
	})
	return out, err
}

// UpdateStatus is compare-and-set on the job's phase, under its row lock.
func (js jobStore) UpdateStatus(ctx context.Context, eventID, name string, from core.JobPhase, status core.JobStatus) error {
	status.Started, status.Ended = utcPtr(status.Started), utcPtr(status.Ended)
	return js.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := js.s.lockEvent(ctx, eventID); err != nil {
			return err
		}
		j, err := getJob(ctx, st, eventID, name, true)
		if err != nil {
			return err
		}
		if phase := jobPhase(j); phase != string(from) {
			return core.NewConflict("Job", name, fmt.Sprintf("job %q of event %q is in phase %q, not %q: someone else changed it first", name, eventID, phase, from))
		}
		j.Status = &status
		doc, err := jobDoc(j)
		if err != nil {
			return err
		}
		if _, err := st.Exec(ctx, `UPDATE jobs SET phase = $1, doc = $2 WHERE event_id = $3 AND name = $4`,
			string(status.Phase), doc, eventID, name); err != nil {
			return fmt.Errorf("update status of job %q of event %q: %w", name, eventID, err)
		}
		st.touch(core.TopicEvent(eventID), core.TopicJob(eventID, name))
		return nil
	})
}

func (js jobStore) SetEnvironment(ctx context.Context, eventID, name string, sealed []byte) error {
	return js.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := js.s.lockEvent(ctx, eventID); err != nil {
			return err
		}
		tag, err := st.Exec(ctx, `UPDATE jobs SET sealed_env = $1 WHERE event_id = $2 AND name = $3`, sealed, eventID, name)
		if err != nil {
			return fmt.Errorf("store environment of job %q of event %q: %w", name, eventID, err)
		}
		if tag.RowsAffected() == 0 {
			return jobNotFound(ctx, st, eventID, name)
		}
		return nil
	})
}

func (js jobStore) Environment(ctx context.Context, eventID, name string) ([]byte, error) {
	if err := js.s.lockEvent(ctx, eventID); err != nil {
		return nil, err
	}
	q := js.s.reader(ctx)
	var sealed []byte
	err := q.QueryRow(ctx, `SELECT sealed_env FROM jobs WHERE event_id = $1 AND name = $2`, eventID, name).Scan(&sealed)
	if noRows(err) {
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
	list := make([]string, len(phases))
	for i, p := range phases {
		list[i] = string(p)
	}
	var n int
	if err := js.s.reader(ctx).QueryRow(ctx, `SELECT COUNT(*) FROM jobs WHERE phase = ANY($1)`, list).Scan(&n); err != nil {
		return 0, fmt.Errorf("count jobs by phase: %w", err)
	}
	return n, nil
}
