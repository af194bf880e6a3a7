package server_test

import (
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
