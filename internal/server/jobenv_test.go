package server_test

import (
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// A job's real environment reaches its launch; a job without one stores
// none; a retried event's job that changed drops the environment of the
// job it replaces.
func TestJobEnvironments(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("jobenv", core.EventSubscription{Source: src, Types: []string{"*"}})
	withEnv := map[string]any{"image": "debian:12", "command": []string{"env"}, "environment": map[string]string{"TOKEN": "old-secret"}}
	without := map[string]any{"image": "debian:12", "command": []string{"env", "-0"}}

	id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
	wt := ts.startWorker(id)
	ts.setWorkerPhase(id, core.PhaseRunning)
	ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("build", withEnv))
	ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("plain", without))
	if l := ts.startJob(id, "build"); l.Environment["build"]["TOKEN"] != "old-secret" {
		t.Fatalf("launch environment %v, want the job's", l.Environment)
	}
	if l := ts.startJob(id, "plain"); len(l.Environment["plain"]) != 0 {
		t.Fatalf("launch environment %v of a job without one", l.Environment)
	}
	ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/build/status", observerToken, statusBody("JobStatus", core.PhaseSucceeded))
	ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/plain/status", observerToken, statusBody("JobStatus", core.PhaseFailed))
	ts.setWorkerPhase(id, core.PhaseFailed)

	var retry core.Event
	ts.expect(201, "POST", "/v2/events/"+id+"/retries", ts.root, nil).into(t, &retry)
	rt := ts.startWorker(retry.Metadata.ID)
	ts.expect(201, "POST", "/v2/events/"+retry.Metadata.ID+"/worker/jobs", rt, jobBody("build", without))
	if l := ts.startJob(retry.Metadata.ID, "build"); len(l.Environment["build"]) != 0 {
		t.Fatalf("launch environment %v of a changed job without one, want none of the job it replaced", l.Environment)
	}
}
