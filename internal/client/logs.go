package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/brigadeplatform/brigade/internal/core"
)

// LogOptions selects the log to read.
type LogOptions struct {
	// Job names the job whose log to read; empty reads the worker's.
	Job string
	// Container names the container; empty means the primary one ("worker",
	// or the job's own name). "vcs" reads the source checkout's log.
	Container string
	// Follow keeps the stream open until the container has finished.
	Follow bool
}

// Logs streams the log lines of an event's worker or of one of its jobs
// (GET /v2/events/{id}/logs). The server waits while the worker or job is
// PENDING or STARTING before it answers. See the package doc for the
// channels' contract; the stream ends normally when the server has sent
// every stored line (or, with Follow, when the container has finished).
func (c *Client) Logs(ctx context.Context, eventID string, opts LogOptions) (<-chan core.LogEntry, <-chan error) {
	q := url.Values{}
	if opts.Job != "" {
		q.Set("job", opts.Job)
	}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	if opts.Follow {
		q.Set("follow", "true")
	}
	what := "log stream of event " + eventID
	if opts.Job != "" {
		what = "log stream of job " + opts.Job + " of event " + eventID
	}
	return stream[core.LogEntry](ctx, c, request{
		method: http.MethodGet, path: "/v2/events/" + escape(eventID) + "/logs", query: q, want: http.StatusOK,
	}, what, nil)
}

// AppendWorkerLog writes lines into a worker's log stream other than its
// own output, today only "vcs" (POST /v2/events/{id}/logs, an addition
// described in docs/api.md). after is how many lines this writer knows are
// stored, so that a retry stores no line twice; close ends the stream.
// Only the event's worker may call it.
func (c *Client) AppendWorkerLog(ctx context.Context, eventID, container string, after int64, lines []core.LogEntry, close bool) error {
	body := struct {
		After int64           `json:"after"`
		Lines []core.LogEntry `json:"lines,omitempty"`
		Close bool            `json:"close,omitempty"`
	}{after, lines, close}
	return c.do(ctx, request{
		method: http.MethodPost, path: "/v2/events/" + escape(eventID) + "/logs",
		query: url.Values{"container": {container}}, kind: "LogLines", body: &body, want: http.StatusOK,
	}, nil)
}
