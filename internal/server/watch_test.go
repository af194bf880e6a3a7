package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// A job's status watch listens to its job and to its event's worker (see
// core.TopicJob): it must still hear of every way the job can end.
func TestJobWatchEnds(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("jobwatch", core.EventSubscription{Source: src, Types: []string{"*"}})
	jobWatch := func(job string) (string, <-chan map[string]any) {
		t.Helper()
		id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		wt := ts.startWorker(id)
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody(job, nil))
		resp := ts.openStream("/v2/events/"+id+"/worker/jobs/"+job+"/status?watch=true", nil)
		items := readObjects(resp.Body)
		if first := waitFor(t, items, "first status"); first["phase"] != "PENDING" {
			t.Fatalf("first item %v", first)
		}
		return id, items
	}

	t.Run("WhenItsWorkerEnds", func(t *testing.T) {
		id, items := jobWatch("j1")
		ts.setWorkerPhase(id, core.PhaseSucceeded)
		rest := drain(t, items)
		if len(rest) == 0 || rest[len(rest)-1]["phase"] != "CANCELED" {
			t.Fatalf("stream tail %v, want the pending job CANCELED with its worker's end", rest)
		}
	})
	t.Run("WhenItsEventIsDeleted", func(t *testing.T) {
		id, items := jobWatch("j2")
		ts.expect(200, "DELETE", "/v2/events/"+id, ts.root, nil)
		drain(t, items) // the stream ends: its job is gone
	})
}

// POST …/worker/jobs?watch=true answers 201 with the new job's status
// stream (docs/api.md), or the usual error.
func TestCreateJobAndWatch(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("createwatch", core.EventSubscription{Source: src, Types: []string{"*"}})
	postQuery := func(id, token, job, query string) *http.Response {
		t.Helper()
		b, _ := json.Marshal(jobBody(job, nil))
		req, _ := http.NewRequestWithContext(t.Context(), "POST", ts.url+"/v2/events/"+id+"/worker/jobs?"+query, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	post := func(id, token, job string) *http.Response { return postQuery(id, token, job, "watch=true") }

	t.Run("StreamsTheNewJobsStatusToItsEnd", func(t *testing.T) {
		id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		wt := ts.startWorker(id)
		resp := post(id, wt, "j1")
		if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("create and watch: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		items := readObjects(resp.Body)
		if first := waitFor(t, items, "first status"); first["phase"] != "PENDING" {
			t.Fatalf("first item %v", first)
		}
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/j1/start", schedulerToken, nil)
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/j1/status", observerToken, statusBody("JobStatus", core.PhaseSucceeded))
		rest := drain(t, items)
		if len(rest) == 0 || rest[len(rest)-1]["phase"] != "SUCCEEDED" {
			t.Fatalf("stream tail %v", rest)
		}
	})
	// final=true: the answer comes once the job is created, and its
	// stream carries the terminal status alone.
	t.Run("FinalSendsTheEndAlone", func(t *testing.T) {
		for _, sse := range []bool{false, true} {
			id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
			wt := ts.startWorker(id)
			query := "watch=true&final=true"
			if sse {
				query += "&sse=true"
			}
			resp := postQuery(id, wt, "j1", query) // returns with the headers, while the job is PENDING
			if resp.StatusCode != 201 {
				t.Fatalf("sse=%v: create and watch the end: %d", sse, resp.StatusCode)
			}
			ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/j1/start", schedulerToken, nil)
			ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/j1/status", observerToken, statusBody("JobStatus", core.PhaseRunning))
			ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/j1/status", observerToken, statusBody("JobStatus", core.PhaseFailed))
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			var items []map[string]any
			for _, line := range strings.Split(string(body), "\n") {
				line = strings.TrimPrefix(line, "data: ")
				if strings.HasPrefix(line, "{") {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil {
						t.Fatalf("sse=%v: item %q: %v", sse, line, err)
					}
					items = append(items, m)
				}
			}
			if len(items) != 1 || items[0]["phase"] != "FAILED" {
				t.Fatalf("sse=%v: stream %q, want the FAILED status alone", sse, body)
			}
			if sse && !strings.HasSuffix(string(body), "event: done\ndata: done\n\n") {
				t.Fatalf("sse=%v: stream %q does not end with the done event", sse, body)
			}
		}
	})
	t.Run("ARefusedJobIsTheUsualError", func(t *testing.T) {
		id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		wt := ts.startWorker(id)
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("j1", nil))
		resp := post(id, wt, "j1")
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 409 || body["kind"] != "ConflictError" {
			t.Fatalf("a duplicate job with watch=true: %d %v (%v), want 409 ConflictError", resp.StatusCode, body, err)
		}
	})
}
