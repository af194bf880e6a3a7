package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestOfficialJSSDKRunsEvents runs test/jssdk/sdk_run_test.mjs against a
// server on the local substrate: events created through the SDK really run,
// and the SDK watches their phases and streams their logs.
func TestOfficialJSSDKRunsEvents(t *testing.T) {
	node, dir := jssdkPrerequisites(t)
	const rootPassword = "jssdk-run-root-password"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var serverLog jssdkLogBuffer
	logger := slog.New(slog.NewTextHandler(&serverLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		RootPassword: rootPassword, CleanupDelay: time.Hour}, logger, io.Discard)
	if err != nil {
		t.Fatalf("starting the server: %v", err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-stopped
		if t.Failed() {
			t.Logf("server log:\n%s", serverLog.String())
		}
	}()
	runCtx, stop := context.WithTimeout(ctx, 3*time.Minute)
	defer stop()
	cmd := exec.CommandContext(runCtx, node, "--test", "--test-reporter=spec", "sdk_run_test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BRIGADE_SERVER=http://"+srv.Addr(), "BRIGADE_ROOT_PASSWORD="+rootPassword, "NO_COLOR=1")
	out, err := jssdkRunStreaming(t, cmd)
	if err != nil {
		t.Fatalf("node --test sdk_run_test.mjs failed: %v (its output is above)", err)
	}
	jssdkCheckSummary(t, out)
}

// TestOfficialJSSDK runs Brigade's official JavaScript SDK
// (@brigadecore/brigade-sdk, pinned in test/jssdk/package.json) against the
// real server, in-process, through test/jssdk/sdk_test.mjs.
//
// It needs `node` on PATH and test/jssdk/node_modules (`npm ci` in
// test/jssdk). Without them it skips, unless BRIGADE_TEST_JSSDK=1 (as in CI),
// which makes them failures.
func TestOfficialJSSDK(t *testing.T) {
	node, dir := jssdkPrerequisites(t)

	const (
		rootPassword   = "jssdk-root-password"
		schedulerToken = "jssdk-scheduler-token-0123456789"
		observerToken  = "jssdk-observer-token-0123456789"
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var serverLog jssdkLogBuffer
	logger := slog.New(slog.NewTextHandler(&serverLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// No substrate: the scheduler's and observer's endpoints only change
	// state, and the helper does in-process what the runner would. The
	// long cleanup delay keeps every cleanup scheduled by a terminal phase
	// in the future for the whole run.
	srv, err := server.New(ctx, server.Config{Substrate: "none",
		Addr:           "127.0.0.1:0",
		DataDir:        t.TempDir(),
		RootPassword:   rootPassword,
		SchedulerToken: schedulerToken,
		ObserverToken:  observerToken,
		CleanupDelay:   time.Hour,
		ThirdPartyAuth: true, // users exist (the helper creates them)
	}, logger, io.Discard)
	if err != nil {
		t.Fatalf("starting the server: %v", err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("server stopped with: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", serverLog.String())
		}
	}()

	helper := httptest.NewServer(newJSSDKHelper(srv.Service(), srv.Store()))
	defer helper.Close()

	runCtx, stop := context.WithTimeout(ctx, 5*time.Minute)
	defer stop()
	cmd := exec.CommandContext(runCtx, node, "--test", "--test-reporter=spec", "sdk_test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"BRIGADE_SERVER=http://"+srv.Addr(),
		"BRIGADE_ROOT_PASSWORD="+rootPassword,
		"BRIGADE_SCHEDULER_TOKEN="+schedulerToken,
		"BRIGADE_OBSERVER_TOKEN="+observerToken,
		"BRIGADE_TEST_HELPER="+helper.URL,
		"NO_COLOR=1",
	)
	out, err := jssdkRunStreaming(t, cmd)
	if err != nil {
		t.Fatalf("node --test sdk_test.mjs failed: %v (its output is above)", err)
	}
	jssdkCheckSummary(t, out)
}

// jssdkPrerequisites finds node and test/jssdk with its node_modules, or
// skips (fails under BRIGADE_TEST_JSSDK=1) naming what is missing.
func jssdkPrerequisites(t *testing.T) (node, dir string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("BRIGADE_TEST_JSSDK") == "1" {
			t.Fatalf("the JS SDK test cannot run: %s (BRIGADE_TEST_JSSDK=1 makes this a failure, not a skip)", msg)
		}
		t.Skipf("skipping the JS SDK test: %s; with BRIGADE_TEST_JSSDK=1 this fails instead", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH (%v)", err)
	}
	dir, err = filepath.Abs(filepath.Join("..", "..", "test", "jssdk"))
	if err != nil {
		t.Fatal(err)
	}
	sdk := filepath.Join(dir, "node_modules", "@brigadecore", "brigade-sdk", "package.json")
	if _, err := os.Stat(sdk); err != nil {
		missing("test/jssdk/node_modules is missing; run `npm ci` in %s (%v)", dir, err)
	}
	return node, dir
}

// jssdkRunStreaming runs cmd, passing each line of its stdout and stderr to
// t.Log as it comes, and returns the whole output.
func jssdkRunStreaming(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var all strings.Builder
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			t.Log(sc.Text())
			all.WriteString(sc.Text() + "\n")
		}
		io.Copy(io.Discard, pr) // a line too long for the scanner: drain
	}()
	err := cmd.Run()
	pw.Close()
	<-read
	return all.String(), err
}

var jssdkNodeSummary = regexp.MustCompile(`(?m)^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)$`)

// jssdkCheckSummary reads node's closing counts: every test must have run
// and passed (the helper is present, so nothing may be skipped).
func jssdkCheckSummary(t *testing.T, out string) {
	t.Helper()
	counts := map[string]int{}
	for _, m := range jssdkNodeSummary.FindAllStringSubmatch(out, -1) {
		counts[m[1]], _ = strconv.Atoi(m[2])
	}
	if _, ok := counts["pass"]; !ok {
		t.Fatalf("node's test summary (ℹ pass N …) is missing from its output")
	}
	if counts["pass"] == 0 || counts["pass"] != counts["tests"] {
		t.Errorf("node ran %d tests and passed %d", counts["tests"], counts["pass"])
	}
	for _, k := range []string{"fail", "cancelled", "skipped", "todo"} {
		if counts[k] != 0 {
			t.Errorf("node reports %d %s test(s)", counts[k], k)
		}
	}
	t.Logf("official JS SDK: %d of %d node tests passed", counts["pass"], counts["tests"])
}

// newJSSDKHelper serves what the Node script cannot do through the API:
//
//	POST /test/start-worker?event=ID  starts the worker in-process as the
//	     scheduler, as the runner does: {"token": "..."}, the worker's
//	     token from its event.json (over HTTP the API hands it to nobody)
//	POST /test/start-job?event=ID&job=J  starts the job in-process as the
//	     scheduler, as the runner does: {"environment": {...}}, the real
//	     environment per container that the runner hands the substrate
//	POST /test/logs?event=ID[&job=J][&container=C][&close=true]
//	     body: ["line", ...] appended to that log (container defaults to the
//	     worker's, or the job's primary); close=true then marks it complete
//	GET  /test/cleanups-due           ["ID", ...] events whose cleanup is due now
//	POST /test/user?id=ID             creates the user as its first third-party
//	     login would and starts a session of it: {"token": "..."}
func newJSSDKHelper(svc *api.Service, store core.Store) http.Handler {
	mux := http.NewServeMux()
	asScheduler := func(r *http.Request) context.Context { return auth.With(r.Context(), auth.Scheduler()) }
	mux.HandleFunc("POST /test/start-worker", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("event")
		launch, err := svc.StartWorker(asScheduler(r), id)
		if err != nil {
			http.Error(w, "starting the worker of "+id+": "+err.Error(), http.StatusConflict)
			return
		}
		var doc core.EventDocument
		if err := json.Unmarshal(launch.EventDocument, &doc); err != nil || doc.Worker.APIToken == "" {
			http.Error(w, fmt.Sprintf("the event document of %s holds no worker token (%v)", id, err), http.StatusInternalServerError)
			return
		}
		jssdkWriteJSON(w, map[string]string{"token": doc.Worker.APIToken})
	})
	mux.HandleFunc("POST /test/start-job", func(w http.ResponseWriter, r *http.Request) {
		id, job := r.URL.Query().Get("event"), r.URL.Query().Get("job")
		launch, err := svc.StartJob(asScheduler(r), id, job)
		if err != nil {
			http.Error(w, fmt.Sprintf("starting job %s of %s: %v", job, id, err), http.StatusConflict)
			return
		}
		jssdkWriteJSON(w, map[string]any{"environment": launch.Environment})
	})
	mux.HandleFunc("POST /test/user", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		if _, err := svc.EnsureUser(r.Context(), id, "JS SDK test user"); err != nil {
			http.Error(w, "creating user "+id+": "+err.Error(), http.StatusInternalServerError)
			return
		}
		tok, err := svc.StartUserSession(r.Context(), id)
		if err != nil {
			http.Error(w, "starting a session of "+id+": "+err.Error(), http.StatusConflict)
			return
		}
		jssdkWriteJSON(w, map[string]string{"token": tok.Value})
	})
	mux.HandleFunc("GET /test/cleanups-due", func(w http.ResponseWriter, r *http.Request) {
		due, err := store.Cleanups().Due(r.Context(), time.Now(), 1000)
		if err != nil {
			http.Error(w, "listing due cleanups: "+err.Error(), http.StatusInternalServerError)
			return
		}
		ids := []string{}
		for _, c := range due {
			ids = append(ids, c.EventID)
		}
		jssdkWriteJSON(w, ids)
	})
	mux.HandleFunc("POST /test/logs", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		stream := core.LogStream{EventID: q.Get("event"), Job: q.Get("job"), Container: q.Get("container")}
		if stream.Container == "" {
			stream.Container = api.ContainerWorker
			if stream.Job != "" {
				stream.Container = stream.Job
			}
		}
		var lines []string
		if err := json.NewDecoder(r.Body).Decode(&lines); err != nil {
			http.Error(w, "body must be a JSON array of strings: "+err.Error(), http.StatusBadRequest)
			return
		}
		entries := make([]core.LogEntry, len(lines))
		for i, l := range lines {
			now := time.Now().UTC()
			entries[i] = core.LogEntry{Time: &now, Message: l}
		}
		if len(entries) > 0 {
			if err := store.Logs().Append(r.Context(), stream, entries); err != nil {
				http.Error(w, "appending log lines: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		if q.Get("close") == "true" {
			if err := store.Logs().Close(r.Context(), stream); err != nil {
				http.Error(w, "closing the log: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func jssdkWriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// jssdkLogBuffer is a bytes.Buffer safe for the server's goroutines to log into.
type jssdkLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *jssdkLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *jssdkLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
