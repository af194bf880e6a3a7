package server_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
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
		var authz *core.AuthorizationError
		if _, err := ts.srv.Service().StartWorker(auth.With(t.Context(), auth.Observer()), id); !errors.As(err, &authz) {
			t.Fatalf("in-process start as the observer: %v", err)
		}
		// Over HTTP (an external scheduler) the start changes the state
		// only: the worker token is handed to nobody.
		if r := ts.expect(200, "PUT", "/v2/events/"+id+"/worker/start", schedulerToken, nil); string(r.Body) != "null" {
			t.Fatalf("start body %q", r.Body)
		}
		ts.expectError(409, "ConflictError", "PUT", "/v2/events/"+id+"/worker/start", schedulerToken, nil)
		if _, err := ts.srv.Service().StartWorker(ts.asScheduler(), id); !core.IsConflict(err) {
			t.Fatalf("in-process start of a STARTING worker: %v", err)
		}
		ts.expectError(404, "NotFoundError", "PUT", "/v2/events/nope/worker/start", schedulerToken, nil)
		r := ts.expect(200, "GET", "/v2/events/"+id+"/worker/status", ts.root, nil)
		if string(r.Body) != `{"phase":"STARTING"}` {
			t.Fatalf("status %s (no envelope expected)", r.Body)
		}
	})
	t.Run("InProcessStartHandsTheLaunchTheWorkerToken", func(t *testing.T) {
		id := newEvent()
		launch, doc := ts.launchWorker(id)
		if launch.Event.Worker.Status.Phase != core.PhaseStarting || doc.Worker.APIAddress != ts.url ||
			doc.Worker.DefaultConfigFiles["brigade.js"] != "console.log('hi')" || doc.Project.ID != "wproj" {
			t.Fatalf("launch: status %+v, event.json %s", launch.Event.Worker.Status, launch.EventDocument)
		}
		if p := ts.getEvent(id).Worker.Status.Phase; p != core.PhaseStarting {
			t.Fatalf("phase after start %s", p)
		}
		// The token in event.json is that worker's, and only that worker's.
		wt := doc.Worker.APIToken
		ts.expect(200, "GET", "/v2/events/"+id, wt, nil)
		ts.expect(200, "PUT", "/v2/events/"+id+"/summary", wt,
			map[string]any{"apiVersion": core.APIVersion, "kind": "EventSummary", "text": "from the worker"})
		ts.expectError(403, "AuthorizationError", "PUT", "/v2/events/"+newEvent()+"/summary", wt,
			map[string]any{"apiVersion": core.APIVersion, "kind": "EventSummary", "text": "not mine"})
		if _, other := ts.launchWorker(newEvent()); other.Worker.APIToken == wt {
			t.Fatal("two workers got the same token")
		}
	})
	t.Run("ObserverMovesPhasesUntilTerminal", func(t *testing.T) {
		id := newEvent()
		wt := ts.startWorker(id)
		ts.expectError(403, "AuthorizationError", "PUT", "/v2/events/"+id+"/worker/status", schedulerToken,
			statusBody("WorkerStatus", core.PhaseRunning))
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/status", observerToken, map[string]any{
			"apiVersion": core.APIVersion, "kind": "WorkerStatus", "phase": "RUNNING", "started": "2024-01-02T03:04:05Z"})
		ts.expectError(400, "BadRequestError", "PUT", "/v2/events/"+id+"/worker/status", observerToken,
			statusBody("WorkerStatus", core.PhaseTimedOut))
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("waiting", nil))
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("started", nil))
		ts.startJob(id, "started")
		// A terminal phase moves the unfinished jobs on in the same update,
		// and schedules the event's cleanup for after the cleanup delay.
		ts.setWorkerPhase(id, core.PhaseSucceeded)
		ev := ts.getEvent(id)
		if ev.Worker.Status.Phase != core.PhaseSucceeded || len(ev.Worker.Jobs) != 2 ||
			ev.Worker.Jobs[0].Status.Phase != core.PhaseCanceled || ev.Worker.Jobs[1].Status.Phase != core.PhaseAborted {
			t.Fatalf("after SUCCEEDED: worker %+v jobs %+v", ev.Worker.Status, ev.Worker.Jobs)
		}
		if slices.Contains(ts.cleanupsDue(time.Now()), id) || !slices.Contains(ts.cleanupsDue(time.Now().Add(cleanupDelay)), id) {
			t.Fatalf("cleanup of %s is not scheduled after the delay", id)
		}
		ts.expectError(409, "ConflictError", "PUT", "/v2/events/"+id+"/worker/status", observerToken,
			statusBody("WorkerStatus", core.PhaseRunning))
		ts.expectError(409, "ConflictError", "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("late", nil))
		// The observer's cleanup asks for it now.
		ts.expectError(403, "AuthorizationError", "PUT", "/v2/events/"+id+"/worker/cleanup", ts.root, nil)
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/cleanup", observerToken, nil)
		if due := ts.cleanupsDue(time.Now()); !slices.Contains(due, id) {
			t.Fatalf("cleanup of %s not due after the cleanup request: %v", id, due)
		}
		ts.expectError(404, "NotFoundError", "PUT", "/v2/events/nope/worker/cleanup", observerToken, nil)
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
		if !slices.Contains(ts.cleanupsDue(time.Now().Add(cleanupDelay)), id) {
			t.Fatalf("timeout scheduled no cleanup of %s", id)
		}
		ts.expectError(409, "ConflictError", "PUT", "/v2/events/"+id+"/worker/timeout", observerToken, nil)
	})
	t.Run("SubstrateCountsWhatOccupiesCapacity", func(t *testing.T) {
		counts := func() (workers, jobs float64) {
			t.Helper()
			m := ts.expect(200, "GET", "/v2/substrate/running-workers", ts.root, nil).json(t)
			if m["kind"] != "SubstrateWorkerCount" {
				t.Fatalf("workers count %v", m)
			}
			workers = m["count"].(float64)
			m = ts.expect(200, "GET", "/v2/substrate/running-jobs", schedulerToken, nil).json(t)
			if m["kind"] != "SubstrateJobCount" {
				t.Fatalf("jobs count %v", m)
			}
			return workers, m["count"].(float64)
		}
		expectCounts := func(what string, workers, jobs float64) {
			t.Helper()
			if w, j := counts(); w != workers || j != jobs {
				t.Fatalf("%s: counts %v workers, %v jobs; want %v, %v", what, w, j, workers, jobs)
			}
		}
		w0, j0 := counts()
		id := newEvent()
		expectCounts("PENDING worker", w0, j0)
		wt := ts.startWorker(id)
		expectCounts("STARTING worker", w0+1, j0)
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("job-a", nil))
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("job-b", nil))
		expectCounts("RUNNING worker, PENDING jobs", w0+1, j0)
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/job-a/start", schedulerToken, nil)
		ts.startJob(id, "job-b")
		expectCounts("STARTING jobs", w0+1, j0+2)
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/job-a/status", observerToken, statusBody("JobStatus", core.PhaseUnknown))
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/job-b/status", observerToken, statusBody("JobStatus", core.PhaseSucceeded))
		ts.setWorkerPhase(id, core.PhaseUnknown)
		expectCounts("UNKNOWN worker and job", w0+1, j0+1)
		ts.setWorkerPhase(id, core.PhaseFailed)
		expectCounts("FAILED worker", w0, j0)
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
		// The launch (what the runner hands the substrate) gets the real
		// values when the job starts; the job it carries stays redacted.
		launch := ts.startJob(id, "build")
		if launch.EventID != id || launch.ProjectID != "jproj" || launch.Environment["build"]["TOKEN"] != "real-secret" ||
			launch.Job.Name != "build" || launch.Job.Spec.PrimaryContainer.Environment["TOKEN"] != core.Redacted {
			t.Fatalf("job launch %+v, environment %v", launch, launch.Environment)
		}
		if p := ts.getEvent(id).Worker.Jobs[0].Status.Phase; p != core.PhaseStarting {
			t.Fatalf("job phase after start %s", p)
		}
		raw = ts.expect(200, "GET", "/v2/events/"+id, ts.root, nil)
		if strings.Contains(string(raw.Body), "real-secret") {
			t.Fatal("job environment leaked after start")
		}
		ts.expectError(409, "ConflictError", "PUT", jobs+"/build/start", schedulerToken, nil)
		ts.expectError(404, "NotFoundError", "PUT", jobs+"/nope/start", schedulerToken, nil)
		ts.expectError(403, "AuthorizationError", "PUT", jobs+"/build/start", observerToken, nil)
	})
	t.Run("OnlyARunningWorkerCreatesAndStartsJobs", func(t *testing.T) {
		ev := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		path := "/v2/events/" + ev + "/worker/jobs"
		// A STARTING worker that creates a job is evidently running.
		wt := ts.startWorker(ev)
		ts.expect(201, "POST", path, wt, jobBody("first", nil))
		if st := ts.getEvent(ev).Worker.Status; st.Phase != core.PhaseRunning || st.Started == nil {
			t.Fatalf("worker after its first job %+v", st)
		}
		// A job starts only while its worker is RUNNING.
		ts.setWorkerPhase(ev, core.PhaseUnknown)
		ts.expectError(409, "ConflictError", "PUT", path+"/first/start", schedulerToken, nil)
		if _, err := ts.srv.Service().StartJob(ts.asScheduler(), ev, "first"); !core.IsConflict(err) {
			t.Fatalf("in-process start under an UNKNOWN worker: %v", err)
		}
		ts.expectError(409, "ConflictError", "POST", path, wt, jobBody("second", nil))
		ts.setWorkerPhase(ev, core.PhaseRunning)
		ts.startJob(ev, "first")
		ts.setWorkerPhase(ev, core.PhaseSucceeded)
		ts.expectError(409, "ConflictError", "POST", path, wt, jobBody("late", nil))
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
		ts.expectError(404, "NotFoundError", "PUT", jobs+"/nope/cleanup", observerToken, nil)
		ts.expectError(403, "AuthorizationError", "PUT", jobs+"/build/cleanup", ts.root, nil)
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
