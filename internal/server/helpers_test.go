package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

const (
	rootPassword   = "correct-horse-battery"
	schedulerToken = "scheduler-token-for-tests-0123456789"
	observerToken  = "observer-token-for-tests-0123456789"
	// cleanupDelay is long enough that no cleanup scheduled after it falls
	// due during a test.
	cleanupDelay = time.Hour
)

// testServer is a real brigade server on a loopback port with a real
// SQLite file (or PostgreSQL schema: see testenv.Database). It runs no substrate (Substrate "none"): the scheduler's and
// observer's endpoints only change state, and a test that needs what the
// runner would get (a worker's token, a job's real environment) starts the
// work in-process through the service, as the runner does.
type testServer struct {
	t       *testing.T
	srv     *server.Server
	url     string
	dataDir string
	root    string // a root session token
	rootPW  string // the root password it was started with
	stop    func()
	errLogs *logBuffer
}

// logBuffer is a log destination that tests read while the server or a
// gateway writes to it (the server's ERROR records: a refused request must
// not log one; a gateway's log: no secret in it).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// serveAlone runs gws alone, as `brigade gateway NAME` does, until the
// test ends, and returns their base URL.
func serveAlone(t *testing.T, gws []gateway.Gateway, log *slog.Logger) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	finished := make(chan struct{})
	var served error
	go func() {
		defer close(finished)
		served = gateway.Serve(ctx, gateway.ServeConfig{Addr: "127.0.0.1:0"}, gws, log, func(a string) { addr <- a })
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
		if served != nil {
			t.Errorf("gateway stopped with error: %v", served)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case <-finished:
		t.Fatalf("gateway did not start: %v", served)
	}
	return ""
}

func newTestServer(t *testing.T) *testServer {
	return startTestServer(t, t.TempDir())
}

// startTestServer starts a server on dataDir; tune, if given, changes its
// configuration first.
func startTestServer(t *testing.T, dataDir string, tune ...func(*server.Config)) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errLogs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(errLogs, &slog.HandlerOptions{Level: slog.LevelError}))
	cfg := server.Config{Substrate: "none",
		Addr: "127.0.0.1:0", DataDir: dataDir, RootPassword: rootPassword,
		SchedulerToken: schedulerToken, ObserverToken: observerToken,
		MaxBodyBytes: 64 << 10, CleanupDelay: cleanupDelay,
	}
	cfg.Database = testenv.Database(t, dataDir)
	for _, f := range tune {
		f(&cfg)
	}
	srv, err := server.New(ctx, cfg, log, io.Discard)
	if err != nil {
		cancel()
		t.Fatalf("starting server: %v", err)
	}
	ts := &testServer{t: t, srv: srv, url: "http://" + srv.Addr(), dataDir: dataDir, errLogs: errLogs, rootPW: cfg.RootPassword}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with error: %v", err)
			}
		})
	}
	t.Cleanup(ts.stop)
	ts.root = ts.login()
	return ts
}

func (ts *testServer) login() string {
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/v2/sessions?root=true", nil)
	req.SetBasicAuth("root", ts.rootPW)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("login: %v", err)
	}
	defer resp.Body.Close()
	var tok struct{ Value string }
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &tok) != nil {
		ts.t.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	return tok.Value
}

// reply is a decoded response.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("reply is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

func (r reply) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding reply: %v: %s", err, r.Body)
	}
}

// do sends a request; body may be nil, a string or anything JSON-encodable.
func (ts *testServer) do(method, path, token string, body any) reply {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// expect checks the status and returns the reply.
func (ts *testServer) expect(status int, method, path, token string, body any) reply {
	ts.t.Helper()
	r := ts.do(method, path, token, body)
	if r.Status != status {
		ts.t.Fatalf("%s %s: got %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	return r
}

// expectError checks an error reply's status and kind.
func (ts *testServer) expectError(status int, kind, method, path, token string, body any) map[string]any {
	ts.t.Helper()
	r := ts.expect(status, method, path, token, body)
	m := r.json(ts.t)
	if m["kind"] != kind || m["apiVersion"] != core.APIVersion {
		ts.t.Fatalf("%s %s: error body kind %v, want %s: %s", method, path, m["kind"], kind, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		ts.t.Fatalf("%s %s: error content type %q", method, path, ct)
	}
	return m
}

func projectBody(id string, subs ...core.EventSubscription) map[string]any {
	return map[string]any{
		"apiVersion": core.APIVersion, "kind": "Project",
		"metadata":    map[string]any{"id": id},
		"description": "test project " + id,
		"spec": map[string]any{
			"eventSubscriptions": subs,
			"workerTemplate": map[string]any{
				"defaultConfigFiles": map[string]string{"brigade.js": "console.log('hi')"},
			},
		},
	}
}

func (ts *testServer) createProject(id string, subs ...core.EventSubscription) {
	ts.t.Helper()
	ts.expect(http.StatusCreated, "POST", "/v2/projects", ts.root, projectBody(id, subs...))
}

func eventBody(source, typ string, extra map[string]any) map[string]any {
	m := map[string]any{"apiVersion": core.APIVersion, "kind": "Event", "source": source, "type": typ}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// createEvents sends an event and returns the created copies.
func (ts *testServer) createEvents(body map[string]any) []core.Event {
	ts.t.Helper()
	r := ts.expect(http.StatusCreated, "POST", "/v2/events", ts.root, body)
	var list struct {
		Kind  string
		Items []core.Event
	}
	r.into(ts.t, &list)
	if list.Kind != "EventList" {
		ts.t.Fatalf("event create returned kind %q", list.Kind)
	}
	return list.Items
}

func (ts *testServer) getEvent(id string) core.Event {
	ts.t.Helper()
	var ev core.Event
	ts.expect(http.StatusOK, "GET", "/v2/events/"+id, ts.root, nil).into(ts.t, &ev)
	return ev
}

func statusBody(kind string, phase core.WorkerPhase) map[string]any {
	return map[string]any{"apiVersion": core.APIVersion, "kind": kind, "phase": phase}
}

// asScheduler is a context carrying the scheduler principal, as the
// runner calls the service.
func (ts *testServer) asScheduler() context.Context {
	return auth.With(ts.t.Context(), auth.Scheduler())
}

// launchWorker starts an event's worker in-process as the scheduler (as
// the runner does) and returns the launch and its decoded event.json.
func (ts *testServer) launchWorker(id string) (*core.WorkerLaunch, core.EventDocument) {
	ts.t.Helper()
	launch, err := ts.srv.Service().StartWorker(ts.asScheduler(), id)
	if err != nil {
		ts.t.Fatalf("starting the worker of %s: %v", id, err)
	}
	var doc core.EventDocument
	if err := json.Unmarshal(launch.EventDocument, &doc); err != nil {
		ts.t.Fatalf("decoding the event document of %s: %v: %s", id, err, launch.EventDocument)
	}
	if doc.ID != id || launch.Event == nil || launch.Event.Metadata.ID != id {
		ts.t.Fatalf("launch of %s: event %+v, document for %q", id, launch.Event, doc.ID)
	}
	return launch, doc
}

// startWorker starts an event's worker (PENDING → STARTING) in-process, as
// the runner does, and returns the worker's token from its event document:
// the API mints it but never hands it out over HTTP.
func (ts *testServer) startWorker(id string) string {
	ts.t.Helper()
	_, doc := ts.launchWorker(id)
	if doc.Worker.APIToken == "" {
		ts.t.Fatal("the event document holds no worker token")
	}
	return doc.Worker.APIToken
}

// startJob starts a job (PENDING → STARTING) in-process as the scheduler,
// as the runner does, and returns the launch.
func (ts *testServer) startJob(id, job string) *core.JobLaunch {
	ts.t.Helper()
	launch, err := ts.srv.Service().StartJob(ts.asScheduler(), id, job)
	if err != nil {
		ts.t.Fatalf("starting job %s of %s: %v", job, id, err)
	}
	return launch
}

// cleanupsDue lists the events whose cleanup is due at (or before) at.
func (ts *testServer) cleanupsDue(at time.Time) []string {
	ts.t.Helper()
	due, err := ts.srv.Store().Cleanups().Due(ts.t.Context(), at, 100)
	if err != nil {
		ts.t.Fatalf("listing due cleanups: %v", err)
	}
	var ids []string
	for _, c := range due {
		ids = append(ids, c.EventID)
	}
	return ids
}

func (ts *testServer) setWorkerPhase(id string, phase core.WorkerPhase) {
	ts.t.Helper()
	ts.expect(http.StatusOK, "PUT", "/v2/events/"+id+"/worker/status", observerToken, statusBody("WorkerStatus", phase))
}

func jobBody(name string, container map[string]any) map[string]any {
	if container == nil {
		container = map[string]any{"image": "debian:12", "command": []string{"echo", "hi"}}
	}
	return map[string]any{"apiVersion": core.APIVersion, "kind": "Job", "name": name,
		"spec": map[string]any{"primaryContainer": container, "timeoutDuration": "900s",
			"host": map[string]any{"nodeSelector": map[string]string{}}, "fallible": false}}
}

// waitFor polls nothing: it waits on a channel with a generous bound.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}
