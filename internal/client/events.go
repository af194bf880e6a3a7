package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// EventSelector filters events for ListEvents, CancelManyEvents and
// DeleteManyEvents. Empty fields match everything. CancelManyEvents and
// DeleteManyEvents need ProjectID and WorkerPhases, and ignore Qualifiers
// and Labels (as Brigade does).
type EventSelector struct {
	ProjectID    string
	Source       string
	Type         string
	Qualifiers   map[string]string // every pair must match
	Labels       map[string]string // every pair must match
	SourceState  map[string]string // matches sourceState.state
	WorkerPhases []core.WorkerPhase
}

func (s *EventSelector) query(q url.Values) {
	if s == nil {
		return
	}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("projectID", s.ProjectID)
	set("source", s.Source)
	set("type", s.Type)
	set("qualifiers", pairs(s.Qualifiers))
	set("labels", pairs(s.Labels))
	set("sourceState", pairs(s.SourceState))
	phases := make([]string, len(s.WorkerPhases))
	for i, p := range s.WorkerPhases {
		phases[i] = string(p)
	}
	set("workerPhases", strings.Join(phases, ","))
}

// pairs encodes a map as "k1=v1,k2=v2", keys sorted.
func pairs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// eventBody is what the server accepts of an event: metadata, worker and
// summary are the server's own.
func eventBody(e *core.Event) *core.Event {
	cp := *e
	cp.Metadata = core.ObjectMeta{}
	cp.Worker = nil
	cp.Summary = ""
	return &cp
}

// CreateEvent sends an event (POST /v2/events) and returns the events it
// created: one per subscribed project, or just one for the named ProjectID.
// The list is empty (and no error) when no project subscribes.
func (c *Client) CreateEvent(ctx context.Context, e *core.Event) ([]core.Event, error) {
	var out List[core.Event]
	err := c.do(ctx, request{
		method: http.MethodPost, path: "/v2/events", kind: "Event", body: eventBody(e), want: http.StatusCreated,
	}, &out)
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}

// CreateEventOnce is CreateEvent for a keyed delivery: key (at most 255
// bytes, unique within the event's source; empty: no key) is sent as the
// Idempotency-Key header. A repeated key creates nothing: the server
// answers with the events the first delivery created, and replayed is
// true.
func (c *Client) CreateEventOnce(ctx context.Context, e *core.Event, key string) (events []core.Event, replayed bool, err error) {
	r := request{method: http.MethodPost, path: "/v2/events", kind: "Event", body: eventBody(e),
		want: http.StatusCreated, alsoOK: http.StatusOK}
	if key != "" {
		r.header = http.Header{"Idempotency-Key": {key}}
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	var out List[core.Event]
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, false, fmt.Errorf("decoding the reply to POST /v2/events: %w", err)
	}
	return out.Items, resp.StatusCode == http.StatusOK, nil
}

// ListEvents returns one page of events, newest first (GET /v2/events).
// sel and opts may be nil.
func (c *Client) ListEvents(ctx context.Context, sel *EventSelector, opts *ListOptions) (*List[core.Event], error) {
	q := url.Values{}
	sel.query(q)
	opts.query(q)
	var out List[core.Event]
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v2/events", query: q, want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetEvent returns one event with its worker and jobs (GET /v2/events/{id}).
func (c *Client) GetEvent(ctx context.Context, id string) (*core.Event, error) {
	var out core.Event
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v2/events/" + escape(id), want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CloneEvent creates a fresh copy of an event, labelled brigade.sh/cloneOf,
// with the worker spec of the project as it is now
// (POST /v2/events/{id}/clones).
func (c *Client) CloneEvent(ctx context.Context, id string) (*core.Event, error) {
	return c.recreate(ctx, id, "clones")
}

// RetryEvent re-runs a finished event, labelled brigade.sh/retryOf, keeping
// its worker spec and the jobs that succeeded (POST /v2/events/{id}/retries).
// An unfinished event gives a ConflictError.
func (c *Client) RetryEvent(ctx context.Context, id string) (*core.Event, error) {
	return c.recreate(ctx, id, "retries")
}

func (c *Client) recreate(ctx context.Context, id, what string) (*core.Event, error) {
	var out core.Event
	err := c.do(ctx, request{
		method: http.MethodPost, path: "/v2/events/" + escape(id) + "/" + what, want: http.StatusCreated,
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSourceState replaces an event's gateway-private state
// (PUT /v2/events/{id}/source-state).
func (c *Client) UpdateSourceState(ctx context.Context, id string, st core.SourceState) error {
	return c.do(ctx, request{
		method: http.MethodPut, path: "/v2/events/" + escape(id) + "/source-state",
		kind: "SourceState", body: &st, want: http.StatusOK,
	}, nil)
}

// UpdateSummary sets an event's summary; only that event's worker may
// (PUT /v2/events/{id}/summary).
func (c *Client) UpdateSummary(ctx context.Context, id, text string) error {
	body := struct {
		Text string `json:"text"`
	}{text}
	return c.do(ctx, request{
		method: http.MethodPut, path: "/v2/events/" + escape(id) + "/summary",
		kind: "EventSummary", body: &body, want: http.StatusOK,
	}, nil)
}

// WorkerSecrets returns the project's secrets to the event's own worker
// while it starts or runs (GET /v2/events/{id}/worker/secrets, an addition
// to Brigade's API, see docs/api.md).
func (c *Client) WorkerSecrets(ctx context.Context, id string) (map[string]string, error) {
	var out struct {
		Secrets map[string]string `json:"secrets"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/v2/events/" + escape(id) + "/worker/secrets",
		want: http.StatusOK}, &out)
	if err != nil {
		return nil, err
	}
	return out.Secrets, nil
}

// CancelEvent cancels a pending event or aborts a running one
// (PUT /v2/events/{id}/cancellation). A finished event gives a
// ConflictError.
func (c *Client) CancelEvent(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodPut, path: "/v2/events/" + escape(id) + "/cancellation", want: http.StatusOK}, nil)
}

// countResult is CancelManyEventsResult and DeleteManyEventsResult.
type countResult struct {
	Count int64 `json:"count"`
}

// CancelManyEvents cancels every PENDING, STARTING or RUNNING event the
// selector matches (POST /v2/events/cancellations) and returns how many.
// sel.ProjectID and sel.WorkerPhases are required.
func (c *Client) CancelManyEvents(ctx context.Context, sel EventSelector) (int64, error) {
	q := url.Values{}
	sel.query(q)
	var out countResult
	err := c.do(ctx, request{method: http.MethodPost, path: "/v2/events/cancellations", query: q, want: http.StatusOK}, &out)
	return out.Count, err
}

// DeleteEvent deletes an event in any phase, with its jobs and logs
// (DELETE /v2/events/{id}).
func (c *Client) DeleteEvent(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v2/events/" + escape(id), want: http.StatusOK}, nil)
}

// DeleteManyEvents deletes every event the selector matches
// (DELETE /v2/events) and returns how many. sel.ProjectID and
// sel.WorkerPhases are required.
func (c *Client) DeleteManyEvents(ctx context.Context, sel EventSelector) (int64, error) {
	q := url.Values{}
	sel.query(q)
	var out countResult
	err := c.do(ctx, request{method: http.MethodDelete, path: "/v2/events", query: q, want: http.StatusOK}, &out)
	return out.Count, err
}
