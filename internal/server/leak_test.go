package server_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

// TestStopLeavesNoGoroutines runs events through a whole server (HTTP,
// runner, local substrate, store) and stops it: every goroutine it started
// must have ended by the time Run returns.
func TestStopLeavesNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	rs := startRunning(t, t.TempDir(), server.Config{CleanupDelay: 1})
	rs.project(t, "leaky", `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("step", "x", event);
  j.primaryContainer.command = ["echo"];
  j.primaryContainer.arguments = ["hi"];
  await j.run();
});
events.process();`, nil)
	finished := rs.event(t, "leaky")
	if ev := rs.waitWorker(t, finished); ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s", ev.Worker.Status.Phase)
	}
	// One event still running when the server stops.
	rs.project(t, "sleepy", sleeperScript, nil)
	running := rs.event(t, "sleepy")
	rs.waitJobPhase(t, running, "sleeper", core.PhaseRunning)
	rs.stop()
	goleak.VerifyNone(t, before,
		// Idle keep-alive connections of the test's own HTTP client.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}
