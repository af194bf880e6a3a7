package server_test

import (
	"net/http"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestWorkerWritesItsVCSLog covers POST /v2/events/{id}/logs?container=vcs,
// through which a worker stores its git clone's output (docs/api.md).
func TestWorkerWritesItsVCSLog(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("vcs", core.EventSubscription{Source: src, Types: []string{"*"}})
	git := map[string]any{"git": map[string]string{"cloneURL": "https://example.com/repo.git"}}
	id := ts.createEvents(eventBody(src, "push", git))[0].Metadata.ID
	wt := ts.startWorker(id)
	ts.setWorkerPhase(id, core.PhaseRunning)
	path := "/v2/events/" + id + "/logs?container=vcs"
	body := func(after int, close bool, lines ...string) map[string]any {
		var items []map[string]any
		for _, l := range lines {
			items = append(items, map[string]any{"message": l})
		}
		return map[string]any{"apiVersion": core.APIVersion, "kind": "LogLines", "after": after, "lines": items, "close": close}
	}
	messages := func() []string {
		var out []string
		for _, m := range drain(t, readObjects(ts.openStream(path, nil).Body)) {
			out = append(out, m["message"].(string))
		}
		return out
	}

	follower := make(chan []map[string]any, 1)
	go func() { follower <- drain(t, readObjects(ts.openStream(path+"&follow=true", nil).Body)) }()

	ts.expect(http.StatusOK, "POST", path, wt, body(0, false, "cloning", "fatal: nope"))
	// A retry of a request whose answer was lost stores nothing twice.
	ts.expect(http.StatusOK, "POST", path, wt, body(0, false, "cloning", "fatal: nope"))
	if got := messages(); len(got) != 2 || got[0] != "cloning" || got[1] != "fatal: nope" {
		t.Fatalf("vcs log %q", got)
	}
	t.Run("OnlyTheWorkerWritesOnlyVCS", func(t *testing.T) {
		ts.expectError(http.StatusForbidden, "AuthorizationError", "POST", path, ts.root, body(2, false, "x"))
		ts.expectError(http.StatusForbidden, "AuthorizationError", "POST", path, schedulerToken, body(2, false, "x"))
		ts.expectError(http.StatusBadRequest, "BadRequestError", "POST", "/v2/events/"+id+"/logs?container=worker", wt, body(2, false, "x"))
		ts.expectError(http.StatusBadRequest, "BadRequestError", "POST", "/v2/events/"+id+"/logs", wt, body(2, false, "x"))
		ts.expectError(http.StatusBadRequest, "BadRequestError", "POST", path, wt, map[string]any{"apiVersion": core.APIVersion, "kind": "LogLines", "after": -1})
		ts.expectError(http.StatusBadRequest, "BadRequestError", "POST", path, wt, map[string]any{"apiVersion": core.APIVersion, "kind": "Event"})
	})
	t.Run("NoGitNoVCSLog", func(t *testing.T) {
		plain := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		pt := ts.startWorker(plain)
		ts.expectError(http.StatusNotFound, "NotFoundError", "POST", "/v2/events/"+plain+"/logs?container=vcs", pt, body(0, true, "x"))
		ts.expectError(http.StatusForbidden, "AuthorizationError", "POST", "/v2/events/"+plain+"/logs?container=vcs", wt, body(0, true, "x"))
	})

	ts.expect(http.StatusOK, "POST", path, wt, body(2, true, "the end"))
	got := waitFor(t, follower, "the vcs log's follower to end when the worker closes it")
	if len(got) != 3 || got[2]["message"] != "the end" {
		t.Fatalf("followed %v", got)
	}
	// The closing request, retried, is answered as the first time; new
	// lines are refused.
	ts.expect(http.StatusOK, "POST", path, wt, body(2, true, "the end"))
	ts.expectError(http.StatusConflict, "ConflictError", "POST", path, wt, body(3, false, "late"))
	if got := messages(); len(got) != 3 {
		t.Fatalf("vcs log after close %q", got)
	}
}
