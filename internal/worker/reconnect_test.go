package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// fakeJobAPI serves one job of event e1 the way the API does, and can cut
// connections: it answers job creates and status watches, and counts what
// it was asked.
type fakeJobAPI struct {
	mu      sync.Mutex
	created int // jobs created
	posts   int // create requests
	watches int // watch requests, the create's own excluded
	// cut decides, per request, whether to drop the connection without an
	// answer (after doing the work, for a create).
	cut func(r *http.Request, n int) bool
	// unavailable answers 503 to the watches numbered here.
	unavailable map[int]bool
	phases      []core.JobPhase // what each watch streams
}

func (f *fakeJobAPI) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		drop := func() {
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("cannot hijack")
				return
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Close()
			}
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v2/events/e1/worker/jobs":
			f.posts++
			if f.created > 0 {
				w.WriteHeader(http.StatusConflict)
				w.Write([]byte(`{"type":"Job","id":"build","reason":"Event \"e1\" already has a job named \"build\"."}`))
				return
			}
			f.created++
			if f.cut != nil && f.cut(r, f.posts) {
				drop()
				return
			}
			w.WriteHeader(http.StatusCreated)
			f.stream(w)
		case r.Method == http.MethodGet && r.URL.Path == "/v2/events/e1/worker/jobs/build/status":
			if f.created == 0 {
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(`{"type":"Job","id":"build"}`))
				return
			}
			if r.URL.Query().Get("watch") != "true" {
				json.NewEncoder(w).Encode(core.JobStatus{Phase: core.PhaseRunning})
				return
			}
			f.watches++
			if f.unavailable[f.watches] {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("the server is restarting"))
				return
			}
			if f.cut != nil && f.cut(r, f.watches) {
				json.NewEncoder(w).Encode(core.JobStatus{Phase: core.PhaseRunning})
				w.(http.Flusher).Flush()
				drop()
				return
			}
			f.stream(w)
		default:
			http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeJobAPI) stream(w http.ResponseWriter) {
	enc := json.NewEncoder(w)
	for _, p := range f.phases {
		enc.Encode(core.JobStatus{Phase: p})
	}
}

// testHost is a host of event e1 on srv that retries fast and keeps its
// warnings.
func testHost(srv *httptest.Server, budget time.Duration) (*host, func() string) {
	var mu sync.Mutex
	var warned []string
	rc := &reconnect{min: time.Millisecond, max: 5 * time.Millisecond, budget: budget,
		warn: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			warned = append(warned, format)
		}}
	h := &host{api: client.New(srv.URL, "t"), eventID: "e1", rc: rc}
	return h, func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(warned, "\n")
	}
}

func TestLostAPIConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job := core.Job{Name: "build", Spec: core.JobSpec{PrimaryContainer: core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x"}}}}

	t.Run("ACreateWhoseAnswerIsLostCreatesOneJob", func(t *testing.T) {
		f := &fakeJobAPI{phases: []core.JobPhase{core.PhaseRunning, core.PhaseSucceeded},
			cut: func(r *http.Request, n int) bool { return r.Method == http.MethodPost && n == 1 }}
		h, warned := testHost(f.serve(t), time.Minute)
		if err := h.CreateJob(ctx, job, true); err != nil {
			t.Fatalf("creating the job: %v", err)
		}
		phase, err := h.WaitJob(ctx, "build", nil)
		if err != nil || phase != core.PhaseSucceeded {
			t.Fatalf("waiting for the job: %s, %v; want SUCCEEDED", phase, err)
		}
		if f.created != 1 || f.posts != 2 {
			t.Fatalf("%d jobs created in %d requests, want 1 in 2", f.created, f.posts)
		}
		if !strings.Contains(warned(), "trying again") {
			t.Fatalf("the worker log says nothing of the lost connection: %q", warned())
		}
	})

	t.Run("AWatchCutShortIsWatchedAgain", func(t *testing.T) {
		// The create's own stream is cut after RUNNING, the next two
		// watches find the server restarting, the third sees the end.
		f := &fakeJobAPI{phases: []core.JobPhase{core.PhaseRunning, core.PhaseSucceeded}, created: 1,
			unavailable: map[int]bool{1: true, 2: true}}
		h, warned := testHost(f.serve(t), time.Minute)
		// What the create handed WaitJob: a stream cut after RUNNING.
		vals, errs := make(chan core.JobStatus, 1), make(chan error, 1)
		vals <- core.JobStatus{Phase: core.PhaseRunning}
		close(vals)
		errs <- &client.APIError{StatusCode: http.StatusBadGateway}
		close(errs)
		h.keepWatch("build", jobWatch{vals: vals, errs: errs})
		var seen []core.JobPhase
		phase, err := h.WaitJob(ctx, "build", func(p core.JobPhase) { seen = append(seen, p) })
		if err != nil || phase != core.PhaseSucceeded {
			t.Fatalf("waiting for the job: %s, %v; want SUCCEEDED", phase, err)
		}
		if len(seen) != 2 || seen[0] != core.PhaseRunning || seen[1] != core.PhaseSucceeded {
			t.Fatalf("phases seen %v, want RUNNING then SUCCEEDED, each once", seen)
		}
		if f.watches != 3 {
			t.Fatalf("%d watches, want 3 (two refused, one to the end)", f.watches)
		}
		if w := warned(); !strings.Contains(w, "trying again") || !strings.Contains(w, "answers again") {
			t.Fatalf("the worker log does not tell the outage and its end: %q", w)
		}
	})

	t.Run("AnAnswerIsNotAnOutage", func(t *testing.T) {
		f := &fakeJobAPI{}
		h, warned := testHost(f.serve(t), time.Minute)
		if _, err := h.WaitJob(ctx, "build", nil); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("waiting for a job that does not exist: %v, want not found", err)
		}
		if f.watches != 0 || warned() != "" {
			t.Fatalf("a 404 was retried (%d watches; warnings %q)", f.watches, warned())
		}
	})

	t.Run("AServerGoneForGoodFailsTheCallAfterTheBudget", func(t *testing.T) {
		f := &fakeJobAPI{}
		srv := f.serve(t)
		h, _ := testHost(srv, 50*time.Millisecond)
		srv.Close()
		err := h.CreateJob(ctx, job, true)
		if err == nil || !strings.Contains(err.Error(), "has not answered for") {
			t.Fatalf("creating a job with the server gone: %v, want the worker to give up saying why", err)
		}
	})
}

// testOutage is how long the worker runs of these tests wait for an API
// server that does not answer (most have none): not the 5 minutes of a
// real run.
const testOutage = 200 * time.Millisecond
