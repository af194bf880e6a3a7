package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// openStream starts a GET and returns its response once headers arrived.
func (ts *testServer) openStream(path string, header map[string]string) *http.Response {
	ts.t.Helper()
	req, _ := http.NewRequestWithContext(ts.t.Context(), "GET", ts.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+ts.root)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("GET %s: %v", path, err)
	}
	ts.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// sseFrame is one server-sent event.
type sseFrame struct{ event, data, id string }

// readFrames parses SSE frames until the body ends, sending each on a
// channel.
func readFrames(body io.Reader) <-chan sseFrame {
	ch := make(chan sseFrame, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				ch <- f
				f = sseFrame{}
			case strings.HasPrefix(line, "event: "):
				f.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				f.data = strings.TrimPrefix(line, "data: ")
			case strings.HasPrefix(line, "id: "):
				f.id = strings.TrimPrefix(line, "id: ")
			}
		}
	}()
	return ch
}

// readObjects decodes back-to-back JSON objects until the body ends.
func readObjects(body io.Reader) <-chan map[string]any {
	ch := make(chan map[string]any, 100)
	go func() {
		defer close(ch)
		dec := json.NewDecoder(body)
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return
			}
			ch <- m
		}
	}()
	return ch
}

func drain[T any](t *testing.T, ch <-chan T) []T {
	t.Helper()
	var out []T
	deadline := time.After(10 * time.Second)
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, v)
		case <-deadline:
			t.Fatalf("stream did not end; got %d items", len(out))
		}
	}
}

func TestStatusWatch(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("watch", core.EventSubscription{Source: src, Types: []string{"*"}})

	t.Run("PlainFramingEndsAfterTerminalPhase", func(t *testing.T) {
		id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		resp := ts.openStream("/v2/events/"+id+"/worker/status?watch=true", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("watch: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		items := readObjects(resp.Body)
		if first := waitFor(t, items, "first status"); first["phase"] != "PENDING" || first["kind"] != nil {
			t.Fatalf("first item %v", first)
		}
		ts.startWorker(id)
		if m := waitFor(t, items, "STARTING"); m["phase"] != "STARTING" {
			t.Fatalf("got %v", m)
		}
		ts.setWorkerPhase(id, core.PhaseRunning)
		ts.setWorkerPhase(id, core.PhaseSucceeded)
		rest := drain(t, items)
		if len(rest) == 0 || rest[len(rest)-1]["phase"] != "SUCCEEDED" {
			t.Fatalf("stream tail %v", rest)
		}
	})
	t.Run("SSEFramingEndsWithDone", func(t *testing.T) {
		id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		wt := ts.startWorker(id)
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("j1", nil))
		resp := ts.openStream("/v2/events/"+id+"/worker/jobs/j1/status?watch=true&sse=true", nil)
		frames := readFrames(resp.Body)
		if f := waitFor(t, frames, "first frame"); f.event != "message" || f.data != `{"phase":"PENDING"}` {
			t.Fatalf("first frame %+v", f)
		}
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/j1/start", schedulerToken, nil)
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/j1/status", observerToken, statusBody("JobStatus", core.PhaseFailed))
		rest := drain(t, frames)
		last := rest[len(rest)-1]
		if last.event != "done" || last.data != "done" || rest[len(rest)-2].data != `{"phase":"FAILED"}` {
			t.Fatalf("frames %+v", rest)
		}
	})
	t.Run("MissingObjectIs404BeforeStreaming", func(t *testing.T) {
		ts.expectError(404, "NotFoundError", "GET", "/v2/events/nope/worker/status?watch=true", ts.root, nil)
	})
}

func TestLogs(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("logs", core.EventSubscription{Source: src, Types: []string{"*"}})
	id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
	store := ts.srv.Store()
	workerLog := core.LogStream{EventID: id, Container: "worker"}
	appendLines := func(s core.LogStream, lines ...string) {
		var entries []core.LogEntry
		for _, l := range lines {
			now := time.Now().UTC()
			entries = append(entries, core.LogEntry{Time: &now, Message: l})
		}
		if err := store.Logs().Append(t.Context(), s, entries); err != nil {
			t.Fatal(err)
		}
	}
	wt := ts.startWorker(id)
	ts.setWorkerPhase(id, core.PhaseRunning)
	appendLines(workerLog, "line 1", "line 2", "line 3")

	t.Run("NonFollowPlainReturnsWhatIsStored", func(t *testing.T) {
		resp := ts.openStream("/v2/events/"+id+"/logs", nil)
		got := drain(t, readObjects(resp.Body))
		if len(got) != 3 || got[0]["message"] != "line 1" || got[0]["kind"] != "LogEntry" || got[0]["time"] == nil {
			t.Fatalf("entries %v", got)
		}
	})
	t.Run("FollowSSEStreamsLiveAndEndsWithDone", func(t *testing.T) {
		resp := ts.openStream("/v2/events/"+id+"/logs?follow=true&sse=true", nil)
		frames := readFrames(resp.Body)
		for i := 1; i <= 3; i++ {
			f := waitFor(t, frames, "stored line")
			if f.event != "message" || f.id != fmt.Sprint(i) || !strings.Contains(f.data, fmt.Sprintf("line %d", i)) {
				t.Fatalf("frame %d: %+v", i, f)
			}
		}
		appendLines(workerLog, "line 4")
		if f := waitFor(t, frames, "live line"); !strings.Contains(f.data, "line 4") || f.id != "4" {
			t.Fatalf("live frame %+v", f)
		}
		if err := store.Logs().Close(t.Context(), workerLog); err != nil {
			t.Fatal(err)
		}
		rest := drain(t, frames)
		if len(rest) != 1 || rest[0].event != "done" || rest[0].id != "5" {
			t.Fatalf("end frames %+v", rest)
		}
	})
	t.Run("ResumeSkipsSeenEntries", func(t *testing.T) {
		resp := ts.openStream("/v2/events/"+id+"/logs?sse=true", map[string]string{"Last-Event-ID": "2"})
		frames := drain(t, readFrames(resp.Body))
		if len(frames) != 3 || frames[0].id != "3" || frames[2].event != "done" {
			t.Fatalf("resumed frames %+v", frames)
		}
		resp = ts.openStream("/v2/events/"+id+"/logs?sse=true&lastEventId=3", nil)
		if frames := drain(t, readFrames(resp.Body)); len(frames) != 2 || frames[0].id != "4" {
			t.Fatalf("resumed by query %+v", frames)
		}
		ts.expectError(400, "BadRequestError", "GET", "/v2/events/"+id+"/logs?lastEventId=x", ts.root, nil)
	})
	t.Run("JobLogsAndContainers", func(t *testing.T) {
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, map[string]any{
			"apiVersion": core.APIVersion, "kind": "Job", "name": "test",
			"spec": map[string]any{"primaryContainer": map[string]any{"image": "x"},
				"sidecarContainers": map[string]any{"db": map[string]any{"image": "y"}}}})
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/test/start", schedulerToken, nil)
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/test/status", observerToken, statusBody("JobStatus", core.PhaseSucceeded))
		appendLines(core.LogStream{EventID: id, Job: "test", Container: "test"}, "job says hi")
		appendLines(core.LogStream{EventID: id, Job: "test", Container: "db"}, "db ready")
		got := drain(t, readObjects(ts.openStream("/v2/events/"+id+"/logs?job=test&follow=true", nil).Body))
		if len(got) != 1 || got[0]["message"] != "job says hi" {
			t.Fatalf("job logs %v", got)
		}
		got = drain(t, readObjects(ts.openStream("/v2/events/"+id+"/logs?job=test&container=db", nil).Body))
		if len(got) != 1 || got[0]["message"] != "db ready" {
			t.Fatalf("sidecar logs %v", got)
		}
		ts.expectError(404, "NotFoundError", "GET", "/v2/events/"+id+"/logs?job=test&container=nope", ts.root, nil)
		ts.expectError(404, "NotFoundError", "GET", "/v2/events/"+id+"/logs?job=nope", ts.root, nil)
		ts.expectError(404, "NotFoundError", "GET", "/v2/events/"+id+"/logs?container=vcs", ts.root, nil)
		ts.expectError(404, "NotFoundError", "GET", "/v2/events/nope/logs", ts.root, nil)
	})
	t.Run("WorkerReadsItsOwnLogsOnly", func(t *testing.T) {
		other := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		ts.expectError(403, "AuthorizationError", "GET", "/v2/events/"+other+"/logs", wt, nil)
		ts.expectError(403, "AuthorizationError", "GET", "/v2/events/"+id+"/logs", schedulerToken, nil)
	})
	t.Run("LogsWaitForAPendingWorker", func(t *testing.T) {
		pending := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		got := make(chan []map[string]any, 1)
		go func() {
			resp := ts.openStream("/v2/events/"+pending+"/logs?follow=true", nil)
			got <- drain(t, readObjects(resp.Body))
		}()
		ts.startWorker(pending)
		ts.setWorkerPhase(pending, core.PhaseRunning)
		appendLines(core.LogStream{EventID: pending, Container: "worker"}, "finally")
		ts.setWorkerPhase(pending, core.PhaseSucceeded)
		entries := waitFor(t, got, "log stream of a pending worker")
		if len(entries) != 1 || entries[0]["message"] != "finally" {
			t.Fatalf("entries %v", entries)
		}
	})
}
