package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// POST …/worker/jobs?batch=true with a JobList creates its jobs in order,
// all of them or none (docs/api.md, "Creating several jobs at once").
func TestCreateJobsInOneRequest(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("batch", core.EventSubscription{Source: src, Types: []string{"*"}})
	list := func(items ...any) map[string]any {
		return map[string]any{"apiVersion": core.APIVersion, "kind": "JobList", "items": items}
	}
	jobNames := func(id string) []string {
		t.Helper()
		var ev core.Event
		ts.expect(200, "GET", "/v2/events/"+id, ts.root, nil).into(t, &ev)
		var names []string
		for _, j := range ev.Worker.Jobs {
			names = append(names, j.Name)
		}
		return names
	}
	const path = "/worker/jobs?batch=true"

	t.Run("CreatesThemInOrder", func(t *testing.T) {
		id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		wt := ts.startWorker(id)
		var items []any
		var want []string
		for i := range 20 {
			name := fmt.Sprintf("j%02d", 19-i) // not in name order
			items = append(items, jobBody(name, nil))
			want = append(want, name)
		}
		ts.expect(201, "POST", "/v2/events/"+id+path, wt, list(items...))
		if got := jobNames(id); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("jobs %v, want %v", got, want)
		}
		// Each is a job as one created alone: PENDING, queued, startable.
		st := ts.expect(200, "GET", "/v2/events/"+id+"/worker/jobs/j07/status", wt, nil).json(t)
		if st["phase"] != "PENDING" {
			t.Fatalf("status %v", st)
		}
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/j07/start", schedulerToken, nil)
	})

	t.Run("CreatesNoneWhenOneCannotBe", func(t *testing.T) {
		id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		wt := ts.startWorker(id)
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("taken", nil))
		m := ts.expectError(409, "ConflictError", "POST", "/v2/events/"+id+path, wt,
			list(jobBody("first", nil), jobBody("taken", nil), jobBody("third", nil)))
		if !strings.Contains(fmt.Sprint(m), "taken") {
			t.Fatalf("error %v does not name the job", m)
		}
		if got := jobNames(id); strings.Join(got, " ") != "taken" {
			t.Fatalf("jobs %v after a refused batch, want the first job alone", got)
		}
	})

	t.Run("RefusesBadBodies", func(t *testing.T) {
		id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		wt := ts.startWorker(id)
		bad := jobBody("bad", nil)
		delete(bad, "spec")
		m := ts.expectError(400, "BadRequestError", "POST", "/v2/events/"+id+path, wt, list(jobBody("ok", nil), bad))
		if !strings.Contains(fmt.Sprint(m["details"]), "items[1]") {
			t.Fatalf("error %v does not say which item", m)
		}
		ts.expectError(400, "BadRequestError", "POST", "/v2/events/"+id+path, wt, jobBody("single", nil))
		ts.expectError(400, "BadRequestError", "POST", "/v2/events/"+id+path, wt, list())
		var many []any
		for i := range 257 {
			many = append(many, jobBody(fmt.Sprint("m", i), nil))
		}
		ts.expectError(400, "BadRequestError", "POST", "/v2/events/"+id+path, wt, list(many...))
		ts.expectError(400, "BadRequestError", "POST", "/v2/events/"+id+path, wt, `{"apiVersion":"brigade.sh/v2","kind":"JobList","items":[],"extra":1}`)
		if got := jobNames(id); len(got) != 0 {
			t.Fatalf("jobs %v after refused batches", got)
		}
		// Only the event's worker may create its jobs.
		ts.expectError(403, "AuthorizationError", "POST", "/v2/events/"+id+path, ts.root, list(jobBody("xx", nil)))
	})
}
