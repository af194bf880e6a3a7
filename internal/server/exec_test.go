package server_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

// TestExecEvents covers events that bring their own config files (the API
// addition behind `brig exec -f`, docs/api.md).
func TestExecEvents(t *testing.T) {
	ts := newTestServer(t)
	sub := core.EventSubscription{Source: "brigade.sh/cli", Types: []string{"exec"}}
	ts.createProject("exec", sub)
	script := map[string]string{"brigade.js": "console.log('from brig exec')"}
	execBody := func(project string, files any) map[string]any {
		extra := map[string]any{"configFiles": files}
		if project != "" {
			extra["projectID"] = project
		}
		return eventBody("brigade.sh/cli", "exec", extra)
	}

	t.Run("NeedsProjectDeveloper", func(t *testing.T) {
		plain := ts.createEvents(eventBody("brigade.sh/cli", "exec", map[string]any{"projectID": "exec"}))[0]
		workerToken := ts.startWorker(plain.Metadata.ID)
		for name, tok := range map[string]string{"worker": workerToken, "scheduler": schedulerToken} {
			m := ts.expectError(403, "AuthorizationError", "POST", "/v2/events", tok, execBody("exec", script))
			if name == "worker" && !strings.Contains(m["reason"].(string), "PROJECT_USER") {
				t.Errorf("%s: reason %v", name, m["reason"])
			}
		}
	})
	t.Run("NeedsProjectID", func(t *testing.T) {
		m := ts.expectError(400, "BadRequestError", "POST", "/v2/events", ts.root, execBody("", script))
		if !strings.Contains(m["reason"].(string), "projectID") {
			t.Fatalf("reason: %v", m["reason"])
		}
	})
	t.Run("FileNamesStayInTheConfigFolder", func(t *testing.T) {
		for _, name := range []string{"../brigade.js", "/etc/passwd", "a/../../b", "a//b", ".", "a\\b"} {
			ts.expectError(400, "BadRequestError", "POST", "/v2/events", ts.root, execBody("exec", map[string]string{name: "x"}))
		}
		ts.expectError(400, "BadRequestError", "POST", "/v2/events", ts.root, execBody("exec", map[string]any{"brigade.js": 1}))
	})
	t.Run("OnlyThatEventGetsTheFiles", func(t *testing.T) {
		before := ts.expect(200, "GET", "/v2/projects/exec", ts.root, nil).Body
		files := map[string]string{"brigade.js": script["brigade.js"], "brigade.json": `{"dependencies":{}}`}
		evs := ts.createEvents(execBody("exec", files))
		if len(evs) != 1 {
			t.Fatalf("%d events", len(evs))
		}
		ev := ts.getEvent(evs[0].Metadata.ID)
		spec := ev.Worker.Spec
		if spec.ConfigFiles["brigade.js"] != script["brigade.js"] || spec.ConfigFiles["brigade.json"] == "" ||
			spec.DefaultConfigFiles["brigade.js"] != "console.log('hi')" || ev.ConfigFiles != nil {
			t.Fatalf("event: configFiles %v, worker spec %+v", ev.ConfigFiles, spec)
		}
		after := ts.expect(200, "GET", "/v2/projects/exec", ts.root, nil).Body
		if !bytes.Equal(before, after) {
			t.Fatalf("the project changed:\nbefore %s\nafter  %s", before, after)
		}
		if plain := ts.createEvents(eventBody("brigade.sh/cli", "exec", map[string]any{"projectID": "exec"}))[0]; plain.Worker.Spec.ConfigFiles != nil {
			t.Fatalf("the next ordinary event got files: %v", plain.Worker.Spec.ConfigFiles)
		}
	})
	t.Run("CloneAndRetryKeepTheFiles", func(t *testing.T) {
		id := ts.createEvents(execBody("exec", script))[0].Metadata.ID
		ts.startWorker(id)
		ts.setWorkerPhase(id, core.PhaseRunning)
		ts.setWorkerPhase(id, core.PhaseFailed)
		for _, what := range []string{"clones", "retries"} {
			var again core.Event
			ts.expect(201, "POST", "/v2/events/"+id+"/"+what, ts.root, nil).into(t, &again)
			if again.Worker.Spec.ConfigFiles["brigade.js"] != script["brigade.js"] {
				t.Errorf("%s: worker spec %+v", what, again.Worker.Spec)
			}
		}
	})
}

// TestExecRunsTheGivenScript runs an exec event for real: the event's
// brigade.js runs instead of the project's brigade.ts.
func TestExecRunsTheGivenScript(t *testing.T) {
	rs := startRunning(t, t.TempDir(), server.Config{})
	rs.project(t, "exec-run", "", func(w *core.WorkerSpec) {
		w.DefaultConfigFiles = map[string]string{"brigade.ts": `console.log("the project's script ran"); process.exit(3);`}
	})
	evs, err := rs.c.CreateEvent(t.Context(), &core.Event{
		ProjectID: "exec-run", Source: "brigade.sh/cli", Type: "exec",
		ConfigFiles: map[string]string{"brigade.js": `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("given", "debian:12-slim", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "echo the given script ran"];
  await j.run();
});
events.process();`},
	})
	if err != nil || len(evs) != 1 {
		t.Fatalf("create event: %v", err)
	}
	id := evs[0].Metadata.ID
	ev := rs.waitWorker(t, id)
	worker := rs.logs(t, id, "")
	if ev.Worker.Status.Phase != core.PhaseSucceeded || strings.Contains(worker, "the project's script ran") {
		t.Fatalf("worker %s, log:\n%s", ev.Worker.Status.Phase, worker)
	}
	if job := rs.logs(t, id, "given"); !strings.Contains(job, "the given script ran") {
		t.Fatalf("job log:\n%s", job)
	}
}
