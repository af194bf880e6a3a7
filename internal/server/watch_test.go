package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
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
	post := func(id, token, job string) *http.Response {
		t.Helper()
		b, _ := json.Marshal(jobBody(job, nil))
		req, _ := http.NewRequestWithContext(t.Context(), "POST", ts.url+"/v2/events/"+id+"/worker/jobs?watch=true", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

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
