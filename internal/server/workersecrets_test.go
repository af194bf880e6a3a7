package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

// GET /v2/events/{id}/worker/secrets (our addition, docs/api.md): only the
// event's own worker, and only while it starts or runs.
func TestWorkerSecretsEndpoint(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/ws"
	ts.createProject("wsec", core.EventSubscription{Source: src, Types: []string{"*"}})
	ts.expect(200, "PUT", "/v2/projects/wsec/secrets/token", ts.root,
		map[string]any{"apiVersion": core.APIVersion, "kind": "Secret", "key": "token", "value": "t0k3n-value"})
	id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
	other := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
	wt, otherToken := ts.startWorker(id), ts.startWorker(other)
	path := "/v2/events/" + id + "/worker/secrets"

	m := ts.expect(http.StatusOK, "GET", path, wt, nil).json(t)
	if m["kind"] != "WorkerSecrets" || m["secrets"].(map[string]any)["token"] != "t0k3n-value" {
		t.Fatalf("answer %v", m)
	}
	for name, tok := range map[string]string{"root": ts.root, "another event's worker": otherToken, "the scheduler": schedulerToken} {
		if r := ts.do("GET", path, tok, nil); r.Status != http.StatusForbidden {
			t.Errorf("%s got %d: %s", name, r.Status, r.Body)
		}
	}
	ts.expectError(http.StatusUnauthorized, "AuthenticationError", "GET", path, "", nil)
	ts.setWorkerPhase(id, core.PhaseRunning)
	ts.expect(http.StatusOK, "GET", path, wt, nil)
	ts.setWorkerPhase(id, core.PhaseSucceeded)
	ts.expectError(http.StatusConflict, "ConflictError", "GET", path, wt, nil)
}

// A worker on the local substrate runs with its secrets, and none of them
// is in its event.json.
func TestSecretsStayOutOfEventFile(t *testing.T) {
	rs := startRunning(t, t.TempDir(), server.Config{})
	rs.project(t, "nofile", `const { events } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  console.log("sees " + Object.keys(event.project.secrets).join(",") + " " + event.project.secrets.token.split("").reverse().join(""));
});
events.process();`, nil)
	if err := rs.c.SetSecret(t.Context(), "nofile", core.Secret{Key: "token", Value: "in-memory-only"}); err != nil {
		t.Fatal(err)
	}
	id := rs.event(t, "nofile")
	if ev := rs.waitWorker(t, id); ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s:\n%s", ev.Worker.Status.Phase, rs.logs(t, id, ""))
	}
	if log := rs.logs(t, id, ""); !strings.Contains(log, "sees token ylno-yromem-ni") {
		t.Fatalf("worker log:\n%s", log)
	}
	b, err := os.ReadFile(filepath.Join(rs.dir, "events", id, "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "in-memory-only") {
		t.Fatalf("event.json holds the secret:\n%s", b)
	}
}
