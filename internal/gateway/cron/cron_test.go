package cron

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/clock"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
)

// fakeAPI answers POST /v2/events (keyed, replaying a known key) and
// GET /v2/events (the unfinished events it is told of).
type fakeAPI struct {
	mu         sync.Mutex
	keys       []string          // Idempotency-Key of every POST
	created    map[string]string // key → event id
	events     []core.Event      // as posted
	unfinished []string          // ids GET /v2/events returns
	queries    []string          // GET /v2/events query strings
	failPosts  []int             // statuses to answer the next POSTs with
	srv        *httptest.Server
	// extra, if set, may answer a request instead (returning true).
	extra func(http.ResponseWriter, *http.Request) bool
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{created: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.extra != nil && f.extra(w, r) {
		return
	}
	reply := func(status int, ids ...string) {
		items := []map[string]any{}
		for _, id := range ids {
			items = append(items, map[string]any{"metadata": map[string]string{"id": id}})
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"metadata": map[string]any{}, "items": items})
	}
	switch r.Method {
	case http.MethodGet:
		f.queries = append(f.queries, r.URL.RawQuery)
		reply(http.StatusOK, f.unfinished...)
	case http.MethodPost:
		key := r.Header.Get("Idempotency-Key")
		f.keys = append(f.keys, key)
		if len(f.failPosts) > 0 {
			status := f.failPosts[0]
			f.failPosts = f.failPosts[1:]
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"reason":"no"}`)
			return
		}
		if id, ok := f.created[key]; ok {
			reply(http.StatusOK, id)
			return
		}
		var ev core.Event
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &ev)
		f.events = append(f.events, ev)
		id := fmt.Sprintf("ev-%d", len(f.events))
		f.created[key] = id
		reply(http.StatusCreated, id)
	}
}

func (f *fakeAPI) snapshot() (keys []string, events []core.Event, queries []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...), append([]core.Event(nil), f.events...), append([]string(nil), f.queries...)
}

// harness runs a gateway of file's schedules on a fake clock.
type harness struct {
	t       *testing.T
	clk     *clock.Fake
	api     *fakeAPI
	firings chan Firing
	logs    *bytes.Buffer
	logMu   *sync.Mutex
}

func newHarness(t *testing.T, start string, api *fakeAPI) *harness {
	at, err := time.Parse(time.RFC3339, start)
	if err != nil {
		t.Fatal(err)
	}
	if api == nil {
		api = newFakeAPI(t)
	}
	return &harness{t: t, clk: clock.NewFake(at), api: api, firings: make(chan Firing, 100),
		logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// start runs a gateway of file until the test ends.
func (h *harness) start(file string) {
	h.t.Helper()
	entries, err := Parse([]byte(file))
	if err != nil {
		h.t.Fatal(err)
	}
	env := gateway.Env{API: client.New(h.api.srv.URL, "token"),
		Log: slog.New(slog.NewTextHandler(lockedWriter{h.logMu, h.logs}, nil))}
	g := New(env, entries, Options{Clock: h.clk, Observe: func(f Firing) { h.firings <- f }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Run: %v", err)
		}
	})
}

// advance moves the clock by d once the gateway waits on it (n timers).
func (h *harness) advance(n int, d time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.clk.WaitTimers(ctx, n); err != nil {
		h.t.Fatal("the gateway does not wait on the clock")
	}
	h.clk.Advance(d)
}

// next is the next firing's outcome.
func (h *harness) next() Firing {
	h.t.Helper()
	select {
	case f := <-h.firings:
		return f
	case <-time.After(30 * time.Second):
		h.t.Fatal("no firing")
	}
	return Firing{}
}

func (h *harness) log() string {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return h.logs.String()
}

const tickFile = `
schedules:
- name: tick
  schedule: "*/5 * * * *"
  event: {projectID: ops, type: tick, labels: {team: infra}}
`

func TestFiresKeyedEvents(t *testing.T) {
	h := newHarness(t, "2026-12-02T07:58:30Z", nil)
	h.start(tickFile)
	h.advance(1, 90*time.Second)
	f := h.next()
	if f.Err != nil || f.Skipped != "" || f.Replayed || len(f.Events) != 1 || f.At.UTC().Format(time.RFC3339) != "2026-12-02T08:00:00Z" {
		t.Fatalf("first firing: %+v", f)
	}
	h.advance(1, 5*time.Minute)
	if f := h.next(); f.Err != nil || f.At.UTC().Format(time.RFC3339) != "2026-12-02T08:05:00Z" {
		t.Fatalf("second firing: %+v", f)
	}
	keys, events, queries := h.api.snapshot()
	if strings.Join(keys, " ") != "tick/2026-12-02T08:00:00Z tick/2026-12-02T08:05:00Z" {
		t.Fatalf("keys %q", keys)
	}
	ev := events[0]
	if ev.Source != Source || ev.ProjectID != "ops" || ev.Type != "tick" || ev.Labels["team"] != "infra" || ev.Labels[ScheduleLabel] != "tick" {
		t.Fatalf("event %+v", ev)
	}
	// Forbid asked for the schedule's unfinished events first.
	if len(queries) != 2 || !strings.Contains(queries[0], "labels=cronSchedule%3Dtick") ||
		!strings.Contains(queries[0], "workerPhases=PENDING%2CRUNNING%2CSTARTING%2CUNKNOWN") ||
		!strings.Contains(queries[0], "projectID=ops") || !strings.Contains(queries[0], "source=brigade.sh%2Fcron") {
		t.Fatalf("queries %q", queries)
	}
	if !strings.Contains(h.log(), `msg="cron fired" schedule=tick at=2026-12-02T08:00:00Z events=[ev-1]`) {
		t.Fatalf("log:\n%s", h.log())
	}
}

// TestNoBackFill: instants before the start, or passed while the process
// was not looking (a long stall), are not made up for.
func TestNoBackFill(t *testing.T) {
	h := newHarness(t, "2026-12-02T08:00:30Z", nil)
	h.start(tickFile)
	// The clock jumps 12 minutes: 08:05 and 08:10 passed; the late one
	// fires once, for its instant, and the next is 08:15.
	h.advance(1, 12*time.Minute)
	if f := h.next(); f.At.UTC().Format("15:04") != "08:05" {
		t.Fatalf("firing %+v", f)
	}
	h.advance(1, 3*time.Minute)
	if f := h.next(); f.At.UTC().Format("15:04") != "08:15" {
		t.Fatalf("firing %+v", f)
	}
	keys, _, _ := h.api.snapshot()
	if len(keys) != 2 {
		t.Fatalf("keys %q", keys)
	}
}

func TestStartingDeadline(t *testing.T) {
	file := func(deadline string) string {
		return strings.Replace(tickFile, "  event:", "  startingDeadline: "+deadline+"\n  event:", 1)
	}
	// Started at 08:03 with a 5 minute deadline: 08:00 is made up for
	// at once.
	h := newHarness(t, "2026-12-02T08:03:00Z", nil)
	h.start(file("5m"))
	if f := h.next(); f.Err != nil || f.At.UTC().Format("15:04") != "08:00" {
		t.Fatalf("catch-up firing: %+v", f)
	}
	// A firing later than the deadline is skipped.
	h.advance(1, 9*time.Minute)
	if f := h.next(); f.Skipped == "" || f.At.UTC().Format("15:04") != "08:05" {
		t.Fatalf("late firing: %+v", f)
	}
	keys, _, _ := h.api.snapshot()
	if strings.Join(keys, " ") != "tick/2026-12-02T08:00:00Z" {
		t.Fatalf("keys %q", keys)
	}

	// With a 2 minute deadline, 08:00 is too old at 08:03.
	h = newHarness(t, "2026-12-02T08:03:00Z", nil)
	h.start(file("2m"))
	h.advance(1, 2*time.Minute)
	if f := h.next(); f.At.UTC().Format("15:04") != "08:05" {
		t.Fatalf("firing: %+v", f)
	}
}

// TestRestartSameInstant: two processes (or one restarted) firing the
// same instant send the same key, and the API creates one event.
func TestRestartSameInstant(t *testing.T) {
	api := newFakeAPI(t)
	h := newHarness(t, "2026-12-02T07:59:59Z", api)
	h.start(tickFile)
	h.start(tickFile)
	h.advance(2, time.Second)
	a, b := h.next(), h.next()
	if a.Err != nil || b.Err != nil || len(a.Events) != 1 || len(b.Events) != 1 || a.Events[0] != b.Events[0] || a.Replayed == b.Replayed {
		t.Fatalf("firings %+v %+v", a, b)
	}
	keys, events, _ := api.snapshot()
	if len(keys) != 2 || keys[0] != keys[1] || len(events) != 1 {
		t.Fatalf("keys %q, %d events", keys, len(events))
	}
}

func TestForbidAndAllow(t *testing.T) {
	api := newFakeAPI(t)
	api.unfinished = []string{"ev-earlier"}
	h := newHarness(t, "2026-12-02T07:59:00Z", api)
	h.start(tickFile)
	h.advance(1, time.Minute)
	f := h.next()
	if f.Err != nil || !strings.Contains(f.Skipped, "event ev-earlier of this schedule has not finished") {
		t.Fatalf("firing %+v", f)
	}
	if keys, _, _ := api.snapshot(); len(keys) != 0 {
		t.Fatalf("an event was created: %q", keys)
	}
	if !strings.Contains(h.log(), `msg="cron firing skipped" schedule=tick`) {
		t.Fatalf("log:\n%s", h.log())
	}
	// Once it has finished, the next firing goes ahead.
	api.mu.Lock()
	api.unfinished = nil
	api.mu.Unlock()
	h.advance(1, 5*time.Minute)
	if f := h.next(); f.Skipped != "" || len(f.Events) != 1 {
		t.Fatalf("firing %+v", f)
	}

	// Allow does not look.
	api = newFakeAPI(t)
	api.unfinished = []string{"ev-earlier"}
	h = newHarness(t, "2026-12-02T07:59:00Z", api)
	h.start(strings.Replace(tickFile, "  event:", "  concurrencyPolicy: Allow\n  event:", 1))
	h.advance(1, time.Minute)
	if f := h.next(); f.Skipped != "" || len(f.Events) != 1 {
		t.Fatalf("firing %+v", f)
	}
	if _, _, queries := api.snapshot(); len(queries) != 0 {
		t.Fatalf("queries %q", queries)
	}
}

// TestRetries: a failure that may pass (503) is retried with the same
// key; a refusal (403, 400) is not, and its cause is logged.
func TestRetries(t *testing.T) {
	api := newFakeAPI(t)
	api.failPosts = []int{http.StatusServiceUnavailable, http.StatusBadGateway}
	h := newHarness(t, "2026-12-02T07:59:00Z", api)
	h.start(tickFile)
	h.advance(1, time.Minute)
	// The loop's timer and the retry's.
	h.advance(2, firstRetry)
	h.advance(2, 2*firstRetry)
	if f := h.next(); f.Err != nil || len(f.Events) != 1 {
		t.Fatalf("firing %+v", f)
	}
	keys, _, _ := api.snapshot()
	if len(keys) != 3 || keys[0] != keys[2] {
		t.Fatalf("keys %q", keys)
	}

	for _, status := range []int{http.StatusForbidden, http.StatusUnauthorized, http.StatusBadRequest} {
		api = newFakeAPI(t)
		api.failPosts = []int{status}
		h = newHarness(t, "2026-12-02T07:59:00Z", api)
		h.start(tickFile)
		h.advance(1, time.Minute)
		f := h.next()
		if f.Err == nil {
			t.Fatalf("%d: firing %+v", status, f)
		}
		if keys, _, _ := api.snapshot(); len(keys) != 1 {
			t.Fatalf("%d: keys %q", status, keys)
		}
		log := h.log()
		if !strings.Contains(log, `msg="cron firing failed" schedule=tick`) {
			t.Fatalf("%d: log:\n%s", status, log)
		}
		refused := strings.Contains(log, "the API refused the gateway's token")
		if refused != (status != http.StatusBadRequest) {
			t.Fatalf("%d: log:\n%s", status, log)
		}
		if strings.Contains(log, "token=") || strings.Contains(log, `"token"`) {
			t.Fatalf("the token is logged:\n%s", log)
		}
	}
}

// TestRetryGivesUp: retries stop when the schedule's next instant comes.
func TestRetryGivesUp(t *testing.T) {
	api := newFakeAPI(t)
	api.failPosts = []int{503, 503, 503, 503, 503, 503, 503, 503, 503, 503}
	h := newHarness(t, "2026-12-02T07:59:59Z", api)
	h.start(`
schedules:
- name: often
  schedule: "@every 4s"
  concurrencyPolicy: Allow
  event: {projectID: ops, type: tick}
`)
	h.advance(1, time.Second)   // 08:00:00 fires and fails
	h.advance(2, time.Second)   // retry at :01 fails
	h.advance(2, 2*time.Second) // the second retry, at :03
	// The retry at :03 fails too; the next would be at :07, after the
	// schedule's next instant (:04): it gives up.
	var f Firing
	for f = h.next(); f.At.UTC().Format("15:04:05") != "08:00:00"; f = h.next() {
	}
	if f.Err == nil || !strings.Contains(f.Err.Error(), "gave up") {
		t.Fatalf("firing %+v", f)
	}
}

// TestNoSubscriber: an event no project subscribes to is created for
// none, and the log says why.
func TestNoSubscriber(t *testing.T) {
	api := newFakeAPI(t)
	api.extra = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"metadata":{},"items":[]}`)
		return true
	}
	h := newHarness(t, "2026-12-02T07:59:00Z", api)
	h.start(tickFile)
	h.advance(1, time.Minute)
	if f := h.next(); f.Err != nil || len(f.Events) != 0 {
		t.Fatalf("firing %+v", f)
	}
	if !strings.Contains(h.log(), `msg="cron event reached no project: the project does not subscribe to it" schedule=tick project=ops source=brigade.sh/cron type=tick`) {
		t.Fatalf("log:\n%s", h.log())
	}
}

func TestBuildOff(t *testing.T) {
	g, err := Build("", gateway.Env{})
	if g != nil || err != nil {
		t.Fatalf("Build without a file: %v %v", g, err)
	}
	if _, err := Build("/nonexistent/cron.yaml", gateway.Env{}); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

func TestRetryable(t *testing.T) {
	for err, want := range map[error]bool{
		&core.BadRequestError{}:                    false,
		&core.AuthorizationError{}:                 false,
		&core.AuthenticationError{}:                false,
		&core.NotFoundError{}:                      false,
		&core.ConflictError{}:                      false,
		&client.APIError{StatusCode: 500}:          true,
		&client.APIError{StatusCode: 429}:          true,
		&client.APIError{StatusCode: 413}:          false,
		errors.New("connection refused"):           true,
		fmt.Errorf("x: %w", &core.NotFoundError{}): false,
	} {
		if retryable(err) != want {
			t.Errorf("%T %v: retryable %v", err, err, !want)
		}
	}
}
