package server_test

import (
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

func TestWorkers(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("wproj", core.EventSubscription{Source: src, Types: []string{"*"}})
	newEvent := func() string { return ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID }

	t.Run("OnlyTheSchedulerStarts", func(t *testing.T) {
		id := newEvent()
		ts.expectError(403, "AuthorizationError", "PUT", "/v2/events/"+id+"/worker/start", ts.root, nil)
		ts.startWorker(id)
		ts.expectError(409, "ConflictError", "PUT", "/v2/events/"+id+"/worker/start", schedulerToken, nil)
		ts.expectError(404, "NotFoundError", "PUT", "/v2/events/nope/worker/start", schedulerToken, nil)
		r := ts.expect(200, "GET", "/v2/events/"+id+"/worker/status", ts.root, nil)
		if string(r.Body) != `{"phase":"STARTING"}` {
			t.Fatalf("status %s (no envelope expected)", r.Body)
		}
	})
	t.Run("ObserverMovesPhasesUntilTerminal", func(t *testing.T) {
		id := newEvent()
		ts.startWorker(id)
		ts.expectError(403, "AuthorizationError", "PUT", "/v2/events/"+id+"/worker/status", schedulerToken,
			statusBody("WorkerStatus", core.PhaseRunning))
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/status", observerToken, map[string]any{
			"apiVersion": core.APIVersion, "kind": "WorkerStatus", "phase": "RUNNING", "started": "2024-01-02T03:04:05Z"})
		ts.expectError(400, "BadRequestError", "PUT", "/v2/events/"+id+"/worker/status", observerToken,
			statusBody("WorkerStatus", core.PhaseTimedOut))
		ts.setWorkerPhase(id, core.PhaseSucceeded)
		ts.expectError(409, "ConflictError", "PUT", "/v2/events/"+id+"/worker/status", observerToken,
			statusBody("WorkerStatus", core.PhaseRunning))
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/cleanup", observerToken, nil)
	})
	t.Run("TimeoutOnlyWhileStartingOrRunning", func(t *testing.T) {
		id := newEvent()
		ts.expectError(409, "ConflictError", "PUT", "/v2/events/"+id+"/worker/timeout", observerToken, nil)
		wt := ts.startWorker(id)
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("slow", nil))
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/slow/start", schedulerToken, nil)
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/timeout", observerToken, nil)
		ev := ts.getEvent(id)
		if ev.Worker.Status.Phase != core.PhaseTimedOut || ev.Worker.Status.Ended == nil ||
			ev.Worker.Jobs[0].Status.Phase != core.PhaseAborted {
			t.Fatalf("after timeout %+v %+v", ev.Worker.Status, ev.Worker.Jobs[0].Status)
		}
	})
	t.Run("SubstrateCounts", func(t *testing.T) {
		m := ts.expect(200, "GET", "/v2/substrate/running-workers", ts.root, nil).json(t)
		if m["kind"] != "SubstrateWorkerCount" || m["count"] != float64(7) {
			t.Fatalf("workers count %v", m)
		}
		m = ts.expect(200, "GET", "/v2/substrate/running-jobs", schedulerToken, nil).json(t)
		if m["kind"] != "SubstrateJobCount" || m["count"] != float64(11) {
			t.Fatalf("jobs count %v", m)
		}
	})
}

func TestJobs(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("jproj", core.EventSubscription{Source: src, Types: []string{"*"}})
	id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
	other := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
	wt := ts.startWorker(id)
	otherToken := ts.startWorker(other)
	jobs := "/v2/events/" + id + "/worker/jobs"

	t.Run("WorkerCreatesJobsWithEnvRedacted", func(t *testing.T) {
		r := ts.expect(201, "POST", jobs, wt, jobBody("build", map[string]any{
			"image": "golang:1.22", "command": []string{"go"}, "arguments": []string{"build"},
			"environment": map[string]string{"TOKEN": "real-secret"}}))
		if string(r.Body) != "null" {
			t.Fatalf("create body %q", r.Body)
		}
		ev := ts.getEvent(id)
		j := ev.Worker.Jobs[0]
		if j.Name != "build" || j.Created == nil || j.Status.Phase != core.PhasePending ||
			j.Spec.PrimaryContainer.Environment["TOKEN"] != core.Redacted {
			t.Fatalf("stored job %+v", j)
		}
		raw := ts.expect(200, "GET", "/v2/events/"+id, ts.root, nil)
		if strings.Contains(string(raw.Body), "real-secret") {
			t.Fatal("job environment leaked")
		}
		// The substrate gets the real values when the job starts.
		ts.expect(200, "PUT", jobs+"/build/start", schedulerToken, nil)
		if env := ts.fake.jobs[id+"/build"]; env["build"]["TOKEN"] != "real-secret" {
			t.Fatalf("substrate env %v", env)
		}
		ts.expectError(409, "ConflictError", "PUT", jobs+"/build/start", schedulerToken, nil)
		ts.expectError(404, "NotFoundError", "PUT", jobs+"/nope/start", schedulerToken, nil)
	})
	t.Run("CreationRules", func(t *testing.T) {
		ts.expectError(409, "ConflictError", "POST", jobs, wt, jobBody("build", nil))
		ts.expectError(403, "AuthorizationError", "POST", jobs, otherToken, jobBody("intruder", nil))
		ts.expectError(403, "AuthorizationError", "POST", jobs, ts.root, jobBody("by-root", nil))
		ts.expectError(403, "AuthorizationError", "POST", jobs, wt, jobBody("priv", map[string]any{
			"image": "x", "privileged": true}))
		ts.expectError(403, "AuthorizationError", "POST", jobs, wt, jobBody("sock", map[string]any{
			"image": "x", "useHostDockerSocket": true}))
		ts.expectError(409, "ConflictError", "POST", jobs, wt, jobBody("ws", map[string]any{
			"image": "x", "workspaceMountPath": "/workspace"}))
		ts.expectError(400, "BadRequestError", "POST", jobs, wt, jobBody("Bad_Name", nil))
		ts.expectError(400, "BadRequestError", "POST", jobs, wt, jobBody("extra", map[string]any{
			"image": "x", "custom": 1}))
	})
	t.Run("StatusUpdatesAndTimeout", func(t *testing.T) {
		r := ts.expect(200, "GET", jobs+"/build/status", ts.root, nil)
		if string(r.Body) != `{"phase":"STARTING"}` {
			t.Fatalf("job status %s", r.Body)
		}
		ts.expect(200, "PUT", jobs+"/build/status", observerToken, statusBody("JobStatus", core.PhaseRunning))
		ts.expect(200, "PUT", jobs+"/build/timeout", observerToken, nil)
		var st core.JobStatus
		ts.expect(200, "GET", jobs+"/build/status", ts.root, nil).into(t, &st)
		if st.Phase != core.PhaseTimedOut || st.Ended == nil {
			t.Fatalf("after timeout %+v", st)
		}
		ts.expectError(409, "ConflictError", "PUT", jobs+"/build/timeout", observerToken, nil)
		ts.expectError(409, "ConflictError", "PUT", jobs+"/build/status", observerToken, statusBody("JobStatus", core.PhaseRunning))
		ts.expect(200, "PUT", jobs+"/build/cleanup", observerToken, nil)
		ts.expectError(404, "NotFoundError", "GET", jobs+"/nope/status", ts.root, nil)
	})
	t.Run("WorkerWritesSummaryForItsEventOnly", func(t *testing.T) {
		body := map[string]any{"apiVersion": core.APIVersion, "kind": "EventSummary", "text": "all good"}
		ts.expect(200, "PUT", "/v2/events/"+id+"/summary", wt, body)
		ts.expectError(403, "AuthorizationError", "PUT", "/v2/events/"+id+"/summary", otherToken, body)
		ts.expectError(403, "AuthorizationError", "PUT", "/v2/events/"+id+"/summary", ts.root, body)
		if s := ts.getEvent(id).Summary; s != "all good" {
			t.Fatalf("summary %q", s)
		}
	})
	t.Run("WorkerTokenIsReadOnlyElsewhere", func(t *testing.T) {
		ts.expect(200, "GET", "/v2/events/"+id, wt, nil)
		ts.expectError(403, "AuthorizationError", "POST", "/v2/projects", wt, projectBody("nope"))
		ts.expectError(403, "AuthorizationError", "PUT", "/v2/events/"+id+"/cancellation", wt, nil)
	})
}
