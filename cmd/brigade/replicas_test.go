package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/postgres/pgtest"
)

// replicaScript's job takes a moment, then writes one line: events are
// under way when the leader is killed, and a follow that starts with the
// job sees its line arrive.
const replicaScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("step", "debian:12-slim", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "sleep 1; echo ran-once"];
  await j.run();
});
events.process();`

// runs counts the job's own line in a log (the substrate adds its own).
func runs(lines []string) int {
	n := 0
	for _, l := range lines {
		if l == "ran-once" {
			n++
		}
	}
	return n
}

// leads reports whether the server at addr runs the work now.
func leads(t *testing.T, addr string) bool {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return false // a killed process
	}
	resp.Body.Close()
	return resp.StatusCode == 200 && resp.Header.Get("X-Brigade-Leader") == "true"
}

// TestReplicasOnPostgreSQL runs the real binary as two api and two
// scheduler processes on one PostgreSQL database. Events go round-robin to
// both API processes; the active scheduler is killed (SIGKILL) while they
// run. Every accepted event reaches a terminal phase, none runs its job
// twice, the standby takes over, and a log follow served by one API
// process streams a job that the scheduler started for an event sent to
// the other.
func TestReplicasOnPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four servers")
	}
	url := pgtest.Schema(t)
	bin := buildBinary(t)
	env := []string{"BRIGADE_DATABASE=" + url, "BRIGADE_SECRETS_KEY=" + strings.Repeat("ab", 32),
		"BRIGADE_STANDBY_WORKERS=0", "BRIGADE_CLEANUP_DELAY=1h"}
	type proc struct {
		addr string
		kill func()
	}
	start := func(role string) proc {
		addr := freeAddr(t)
		cmd := startBinary(t, bin, t.TempDir(), addr, append(env, "BRIGADE_ROLE="+role)...)
		return proc{addr: addr, kill: func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }}
	}
	api := []proc{start("api"), start("api")}
	scheds := []proc{start("scheduler"), start("scheduler")}
	tok := rootToken(t, api[0].addr)
	clients := []*client.Client{client.New("http://"+api[0].addr, tok), client.New("http://"+api[1].addr, tok)}
	ctx := t.Context()
	if _, err := clients[0].CreateProject(ctx, &core.Project{Metadata: core.ObjectMeta{ID: "replicas"}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
		WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": replicaScript}},
	}}); err != nil {
		t.Fatal(err)
	}
	var leader, standby proc
	waitUntil(t, "a scheduler to lead", func() bool {
		switch {
		case leads(t, scheds[0].addr):
			leader, standby = scheds[0], scheds[1]
		case leads(t, scheds[1].addr):
			leader, standby = scheds[1], scheds[0]
		default:
			return false
		}
		return true
	})

	// A log follow on api[1] of a job started for an event sent to api[0].
	create := func(c *client.Client) string {
		evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: "replicas", Source: "brigade.sh/cli", Type: "exec"})
		if err != nil || len(evs) != 1 {
			t.Fatalf("create event: %v", err)
		}
		return evs[0].Metadata.ID
	}
	first := create(clients[0])
	waitUntil(t, "the first event's job to exist", func() bool {
		ev, err := clients[1].GetEvent(ctx, first)
		return err == nil && len(ev.Worker.Jobs) == 1
	})
	lines, errs := clients[1].Logs(ctx, first, client.LogOptions{Job: "step", Follow: true})
	var followed []string
	for l := range lines {
		followed = append(followed, l.Message)
	}
	if err := <-errs; err != nil {
		t.Fatalf("following the job's log through the other API process: %v", err)
	}
	if runs(followed) != 1 {
		t.Fatalf("followed %q through the other API process, want the job's line", followed)
	}

	// Load, with the leader killed half-way.
	const n = 40
	ids := []string{first}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		if i == n/2 {
			leader.kill()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := create(clients[i%2])
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		}()
		time.Sleep(20 * time.Millisecond) // spread the load over the kill
	}
	wg.Wait()
	waitUntil(t, "the standby to take over", func() bool { return leads(t, standby.addr) })

	succeeded := 0
	for _, id := range ids {
		var ev *core.Event
		waitUntil(t, "event "+id+" to end", func() bool {
			var err error
			if ev, err = clients[1].GetEvent(ctx, id); err != nil {
				t.Fatalf("get event %s: %v", id, err)
			}
			return ev.Worker.Status.Phase.IsTerminal()
		})
		switch ev.Worker.Status.Phase {
		case core.PhaseSucceeded:
		case core.PhaseAborted:
			continue // lost with the killed leader; the new one ended it
		default:
			t.Fatalf("event %s ended %s", id, describeEvent(ev))
		}
		succeeded++
		lines, errs := clients[0].Logs(ctx, id, client.LogOptions{Job: "step"})
		var got []string
		for l := range lines {
			got = append(got, l.Message)
		}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if runs(got) != 1 {
			t.Fatalf("event %s's job logged %q: want one run", id, got)
		}
	}
	if succeeded < n/2 {
		t.Fatalf("only %d of %d events succeeded: the new leader should run those sent after the kill", succeeded, len(ids))
	}
	t.Logf("%d events, %d succeeded, the others ended when the leader was killed", len(ids), succeeded)
}
