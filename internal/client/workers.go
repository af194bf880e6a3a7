package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/brigadeplatform/brigade/internal/core"
)

func workerPath(eventID, rest string) string {
	return "/v2/events/" + escape(eventID) + "/worker" + rest
}

// StartWorker moves a PENDING worker to STARTING and mints its token; the
// scheduler's call (PUT /v2/events/{id}/worker/start). The server launches
// only what its own runner starts (docs/api.md).
func (c *Client) StartWorker(ctx context.Context, eventID string) error {
	return c.do(ctx, request{method: http.MethodPut, path: workerPath(eventID, "/start"), want: http.StatusOK}, nil)
}

// GetWorkerStatus returns an event's worker status
// (GET /v2/events/{id}/worker/status).
func (c *Client) GetWorkerStatus(ctx context.Context, eventID string) (*core.WorkerStatus, error) {
	var out core.WorkerStatus
	if err := c.do(ctx, request{method: http.MethodGet, path: workerPath(eventID, "/status"), want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WatchWorkerStatus streams an event's worker status until it reaches a
// terminal phase (GET /v2/events/{id}/worker/status?watch=true). See the
// package doc for the channels' contract.
func (c *Client) WatchWorkerStatus(ctx context.Context, eventID string) (<-chan core.WorkerStatus, <-chan error) {
	return stream(ctx, c, request{
		method: http.MethodGet, path: workerPath(eventID, "/status"),
		query: url.Values{"watch": {"true"}}, want: http.StatusOK,
	}, "worker status stream of event "+eventID, func(s *core.WorkerStatus) bool { return s.Phase.IsTerminal() })
}

// UpdateWorkerStatus replaces a worker's status; the observer's call
// (PUT /v2/events/{id}/worker/status). A terminal worker gives a
// ConflictError. TIMED_OUT is set through TimeoutWorker instead.
func (c *Client) UpdateWorkerStatus(ctx context.Context, eventID string, st core.WorkerStatus) error {
	return c.do(ctx, request{
		method: http.MethodPut, path: workerPath(eventID, "/status"),
		kind: "WorkerStatus", body: &st, want: http.StatusOK,
	}, nil)
}

// CleanupWorker removes an event's workloads from the substrate
// (PUT /v2/events/{id}/worker/cleanup).
func (c *Client) CleanupWorker(ctx context.Context, eventID string) error {
	return c.do(ctx, request{method: http.MethodPut, path: workerPath(eventID, "/cleanup"), want: http.StatusOK}, nil)
}

// TimeoutWorker marks a STARTING or RUNNING worker TIMED_OUT
// (PUT /v2/events/{id}/worker/timeout).
func (c *Client) TimeoutWorker(ctx context.Context, eventID string) error {
	return c.do(ctx, request{method: http.MethodPut, path: workerPath(eventID, "/timeout"), want: http.StatusOK}, nil)
}

// RunningWorkers counts the workers the substrate is running
// (GET /v2/substrate/running-workers).
func (c *Client) RunningWorkers(ctx context.Context) (int, error) {
	return c.count(ctx, "/v2/substrate/running-workers")
}

// RunningJobs counts the jobs the substrate is running
// (GET /v2/substrate/running-jobs).
func (c *Client) RunningJobs(ctx context.Context) (int, error) {
	return c.count(ctx, "/v2/substrate/running-jobs")
}

func (c *Client) count(ctx context.Context, path string) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: path, want: http.StatusOK}, &out)
	return out.Count, err
}
