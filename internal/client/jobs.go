package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/brigadeplatform/brigade/internal/core"
)

func jobPath(eventID, job, rest string) string {
	return workerPath(eventID, "/jobs/"+escape(job)+rest)
}

// CreateJob asks for a job in an event's worker; only that event's worker
// may (POST /v2/events/{id}/worker/jobs). Created and Status are the
// server's and are not sent.
func (c *Client) CreateJob(ctx context.Context, eventID string, job *core.Job) error {
	return c.do(ctx, request{
		method: http.MethodPost, path: workerPath(eventID, "/jobs"),
		kind: "Job", body: asSent(job), want: http.StatusCreated,
	}, nil)
}

// asSent is a job as a creation sends it: Created and Status are the
// server's.
func asSent(job *core.Job) *core.Job {
	cp := *job
	cp.Created = nil
	cp.Status = nil
	return &cp
}

// CreateJobs creates several jobs of an event in one request, in their
// order: all of them, or none with the error the first that cannot be
// created gets (POST …/worker/jobs?batch=true with a JobList, an addition
// of this server: docs/api.md).
func (c *Client) CreateJobs(ctx context.Context, eventID string, jobs []core.Job) error {
	items := make([]json.RawMessage, len(jobs))
	for i := range jobs {
		b, err := enveloped("Job", asSent(&jobs[i]))
		if err != nil {
			return err
		}
		items[i] = b
	}
	return c.do(ctx, request{
		method: http.MethodPost, path: workerPath(eventID, "/jobs"), query: url.Values{"batch": {"true"}},
		kind: "JobList", body: &struct {
			Items []json.RawMessage `json:"items"`
		}{items}, want: http.StatusCreated,
	}, nil)
}

// CreateJobAndWatch creates a job as CreateJob does and streams its status
// in the same answer, as WatchJobStatus would (POST …/worker/jobs?watch=true,
// an addition of this server: docs/api.md); with final, the stream carries
// the terminal status alone (&final=true). It returns once the job is
// created, or with the error CreateJob would give; the channels then follow
// the package doc's contract.
func (c *Client) CreateJobAndWatch(ctx context.Context, eventID string, job *core.Job, final bool) (<-chan core.JobStatus, <-chan error, error) {
	q := url.Values{"watch": {"true"}}
	if final {
		q.Set("final", "true")
	}
	resp, err := c.send(ctx, request{
		method: http.MethodPost, path: workerPath(eventID, "/jobs"), query: q,
		kind: "Job", body: asSent(job), want: http.StatusCreated,
	})
	if err != nil {
		return nil, nil, err
	}
	vals, errs := streamBody(ctx, resp, "status stream of job "+job.Name+" of event "+eventID,
		func(s *core.JobStatus) bool { return s.Phase.IsTerminal() })
	return vals, errs, nil
}

// StartJob moves a PENDING job to STARTING; the scheduler's call
// (PUT …/worker/jobs/{job}/start). The server launches only what its own
// runner starts (docs/api.md).
func (c *Client) StartJob(ctx context.Context, eventID, job string) error {
	return c.do(ctx, request{method: http.MethodPut, path: jobPath(eventID, job, "/start"), want: http.StatusOK}, nil)
}

// GetJobStatus returns a job's status (GET …/worker/jobs/{job}/status).
func (c *Client) GetJobStatus(ctx context.Context, eventID, job string) (*core.JobStatus, error) {
	var out core.JobStatus
	if err := c.do(ctx, request{method: http.MethodGet, path: jobPath(eventID, job, "/status"), want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WatchJobStatus streams a job's status until it reaches a terminal phase
// (GET …/worker/jobs/{job}/status?watch=true). See the package doc for the
// channels' contract.
func (c *Client) WatchJobStatus(ctx context.Context, eventID, job string) (<-chan core.JobStatus, <-chan error) {
	return c.watchJob(ctx, eventID, job, url.Values{"watch": {"true"}})
}

// WatchJobEnd is WatchJobStatus for the terminal status alone
// (&final=true, an addition of this server: docs/api.md).
func (c *Client) WatchJobEnd(ctx context.Context, eventID, job string) (<-chan core.JobStatus, <-chan error) {
	return c.watchJob(ctx, eventID, job, url.Values{"watch": {"true"}, "final": {"true"}})
}

func (c *Client) watchJob(ctx context.Context, eventID, job string, q url.Values) (<-chan core.JobStatus, <-chan error) {
	return stream(ctx, c, request{
		method: http.MethodGet, path: jobPath(eventID, job, "/status"), query: q, want: http.StatusOK,
	}, "status stream of job "+job+" of event "+eventID, func(s *core.JobStatus) bool { return s.Phase.IsTerminal() })
}

// UpdateJobStatus replaces a job's status; the observer's call
// (PUT …/worker/jobs/{job}/status). A terminal job gives a ConflictError.
func (c *Client) UpdateJobStatus(ctx context.Context, eventID, job string, st core.JobStatus) error {
	return c.do(ctx, request{
		method: http.MethodPut, path: jobPath(eventID, job, "/status"),
		kind: "JobStatus", body: &st, want: http.StatusOK,
	}, nil)
}

// CleanupJob removes a job's workloads from the substrate
// (PUT …/worker/jobs/{job}/cleanup).
func (c *Client) CleanupJob(ctx context.Context, eventID, job string) error {
	return c.do(ctx, request{method: http.MethodPut, path: jobPath(eventID, job, "/cleanup"), want: http.StatusOK}, nil)
}

// TimeoutJob marks an unfinished job TIMED_OUT
// (PUT …/worker/jobs/{job}/timeout).
func (c *Client) TimeoutJob(ctx context.Context, eventID, job string) error {
	return c.do(ctx, request{method: http.MethodPut, path: jobPath(eventID, job, "/timeout"), want: http.StatusOK}, nil)
}
