package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/clock"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
	"github.com/brigadeplatform/brigade/internal/gateway/cron"
	"github.com/brigadeplatform/brigade/internal/gateway/gateways"
	"github.com/brigadeplatform/brigade/internal/server"
)

var cronSubscription = core.EventSubscription{Source: cron.Source, Types: []string{"tick"}}

func writeCronFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cron.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCronGatewayFromFile: `brigade server --cron-file` fires the file's
// schedules through the API; the event reaches the subscribed project.
// (The server has no substrate: the event stays PENDING, so Forbid keeps
// later firings from creating more.)
func TestCronGatewayFromFile(t *testing.T) {
	file := writeCronFile(t, `
schedules:
- name: every-second
  schedule: "@every 1s"
  event:
    projectID: ticks
    type: tick
    shortTitle: a tick
`)
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) { c.Gateways.CronFile = file })
	ts.createProject("ticks", cronSubscription)
	c := client.New(ts.url, ts.root)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var evs []core.Event
	for {
		l, err := c.ListEvents(ctx, &client.EventSelector{ProjectID: "ticks", Source: cron.Source}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if evs = l.Items; len(evs) > 0 {
			break
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no cron event reached the project")
		}
	}
	ev := evs[0]
	if ev.Type != "tick" || ev.ShortTitle != "a tick" || ev.Labels[cron.ScheduleLabel] != "every-second" ||
		ev.Worker.Status.Phase != core.PhasePending {
		t.Fatalf("event %+v", ev)
	}
	// The audit log names the gateway (its entry is recorded once the
	// creation has been answered, which may be after the list saw it).
	for {
		m := ts.expect(200, "GET", "/v2/audit", ts.root, nil).json(t)
		for _, it := range m["items"].([]any) {
			if p := it.(map[string]any)["principal"].(map[string]any); p["kind"] == "GATEWAY" && p["id"] == "cron" {
				return
			}
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("no audit entry names the cron gateway: %v", m["items"])
		}
	}
}

// TestCronFileRejectedAtStart: a bad cron file stops the server from
// starting, with the schedule named.
func TestCronFileRejectedAtStart(t *testing.T) {
	file := writeCronFile(t, `
schedules:
- name: nightly
  schedule: "0 3 * * *"
  event: {type: cleanup}
`)
	cfg := server.Config{Substrate: "none", Addr: "127.0.0.1:0", DataDir: t.TempDir(), RootPassword: rootPassword}
	cfg.Gateways.CronFile = file
	_, err := server.New(t.Context(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if want := "schedule 1 (nightly): event.projectID is missing"; err == nil || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), file) {
		t.Fatalf("error %q, want it to name the file and say %q", err, want)
	}
}

// cronInstances builds n cron gateways (processes, as far as the API can
// tell: each has its own token) of file on one fake clock, mounted on one
// server.
type cronInstances struct {
	clk     *clock.Fake
	firings chan cron.Firing
	envs    []gateway.Env
}

func (ci *cronInstances) builders(t *testing.T, file string, n int) []gateways.Builder {
	entries, err := cron.Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	var bs []gateways.Builder
	for i := range n {
		bs = append(bs, gateways.Builder{Name: "cron-" + string(rune('a'+i)), Source: cron.Source,
			Build: func(env gateway.Env) (gateway.Gateway, error) {
				ci.envs = append(ci.envs, env)
				return cron.New(env, entries, cron.Options{Clock: ci.clk, Observe: func(f cron.Firing) { ci.firings <- f }}), nil
			}})
	}
	return bs
}

func (ci *cronInstances) advance(t *testing.T, timers int, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := ci.clk.WaitTimers(ctx, timers); err != nil {
		t.Fatal("the gateways do not wait on the clock")
	}
	ci.clk.Advance(d)
}

func (ci *cronInstances) next(t *testing.T) cron.Firing {
	t.Helper()
	select {
	case f := <-ci.firings:
		return f
	case <-time.After(30 * time.Second):
		t.Fatal("no firing")
	}
	return cron.Firing{}
}

// sameEvent takes the firings of both gateways of one instant: one created
// the event; the other got the same event replayed, or, when the first
// had already created it, skipped it (Forbid) naming it.
func (ci *cronInstances) sameEvent(t *testing.T) string {
	t.Helper()
	a, b := ci.next(t), ci.next(t)
	if len(a.Events) == 0 || a.Replayed { // the order they report in is free
		a, b = b, a
	}
	if a.Err != nil || b.Err != nil || len(a.Events) != 1 || a.Replayed {
		t.Fatalf("firings %+v %+v", a, b)
	}
	if id := a.Events[0]; !(len(b.Events) == 1 && b.Events[0] == id && b.Replayed) && !strings.Contains(b.Skipped, id) {
		t.Fatalf("firings %+v %+v: the second neither replayed nor skipped %s", a, b, id)
	}
	return a.Events[0]
}

const tickEvery5m = `
schedules:
- name: tick
  schedule: "*/5 * * * *"
  event: {projectID: ticks, type: tick}
`

// TestCronSameInstantOnce: two gateways firing the same instant against
// one server create one event; while it has not finished, later firings
// are skipped (Forbid); a restarted gateway catching up on an instant that
// already fired creates nothing.
func TestCronSameInstantOnce(t *testing.T) {
	start, _ := time.Parse(time.RFC3339, "2026-12-02T07:59:59Z")
	ci := &cronInstances{clk: clock.NewFake(start), firings: make(chan cron.Firing, 10)}
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) {
		c.Gateways.Extra = ci.builders(t, tickEvery5m, 2)
	})
	ts.createProject("ticks", cronSubscription)
	c := client.New(ts.url, ts.root)
	count := func() []core.Event {
		t.Helper()
		l, err := c.ListEvents(t.Context(), &client.EventSelector{Source: cron.Source}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}

	ci.advance(t, 2, time.Second) // 08:00
	first := ci.sameEvent(t)
	if evs := count(); len(evs) != 1 || evs[0].Metadata.ID != first {
		t.Fatalf("events %+v", evs)
	}

	ci.advance(t, 2, 5*time.Minute) // 08:05: the 08:00 event is PENDING
	for range 2 {
		if f := ci.next(t); f.Err != nil || !strings.Contains(f.Skipped, first) {
			t.Fatalf("firing %+v", f)
		}
	}
	if evs := count(); len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}

	ts.setWorkerPhase(first, core.PhaseStarting)
	ts.setWorkerPhase(first, core.PhaseRunning)
	ts.setWorkerPhase(first, core.PhaseSucceeded)
	ci.advance(t, 2, 5*time.Minute) // 08:10
	second := ci.sameEvent(t)
	if evs := count(); len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
	ts.setWorkerPhase(second, core.PhaseStarting)
	ts.setWorkerPhase(second, core.PhaseRunning)
	ts.setWorkerPhase(second, core.PhaseSucceeded)

	// The first gateway restarts at 08:10:30 with a startingDeadline: it
	// fires 08:10 again, and the API answers with the event of 08:10.
	entries, err := cron.Parse([]byte(strings.Replace(tickEvery5m, "  event:", "  startingDeadline: 1m\n  event:", 1)))
	if err != nil {
		t.Fatal(err)
	}
	ci.clk.Advance(30 * time.Second)
	restarted := cron.New(ci.envs[0], entries, cron.Options{Clock: ci.clk, Observe: func(f cron.Firing) { ci.firings <- f }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- restarted.Run(ctx) }()
	f := ci.next(t)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f.Err != nil || f.At.UTC().Format("15:04") != "08:10" || len(f.Events) != 1 || f.Events[0] != second || !f.Replayed {
		t.Fatalf("restarted firing %+v, want the replay of %s", f, second)
	}
	if evs := count(); len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
}

// TestCronEventRunsScript: a cron event reaches a subscribed project and
// its script runs on the local substrate.
func TestCronEventRunsScript(t *testing.T) {
	start, _ := time.Parse(time.RFC3339, "2026-12-02T07:59:59Z")
	ci := &cronInstances{clk: clock.NewFake(start), firings: make(chan cron.Firing, 10)}
	rs := startRunning(t, t.TempDir(), server.Config{Gateways: gateways.Config{Extra: ci.builders(t, tickEvery5m, 1)}})
	rs.project(t, "ticks", `const { events } = require("@brigadecore/brigadier");
events.on("brigade.sh/cron", "tick", async event => {
  console.log("tick of " + event.labels.cronSchedule);
});
events.process();
`, func(w *core.WorkerSpec) {})
	p, err := rs.c.GetProject(t.Context(), "ticks")
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.EventSubscriptions = []core.EventSubscription{cronSubscription}
	if _, err := rs.c.UpdateProject(t.Context(), p, false); err != nil {
		t.Fatal(err)
	}
	ci.advance(t, 1, time.Second)
	f := ci.next(t)
	if f.Err != nil || len(f.Events) != 1 {
		t.Fatalf("firing %+v", f)
	}
	ev := rs.waitWorker(t, f.Events[0])
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s", ev.Worker.Status.Phase)
	}
	if logs := rs.logs(t, ev.Metadata.ID, ""); !strings.Contains(logs, "tick of tick") {
		t.Fatalf("worker logs:\n%s", logs)
	}
}

// TestCronGatewayAlone: `brigade gateway cron` (gateway.Serve) with a
// service account's token holding READER and EVENT_CREATOR for the cron
// source creates the events on a remote server.
func TestCronGatewayAlone(t *testing.T) {
	ts := startTestServer(t, t.TempDir())
	ts.createProject("ticks", cronSubscription)
	root := client.New(ts.url, ts.root)
	tok, err := root.CreateServiceAccount(t.Context(), "cron-gateway", "scheduled events")
	if err != nil {
		t.Fatal(err)
	}
	sa := core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: "cron-gateway"}
	for _, a := range []core.RoleAssignment{{Role: "READER", Principal: sa}, {Role: "EVENT_CREATOR", Principal: sa, Scope: cron.Source}} {
		if err := root.GrantRole(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	cfg := gateways.Config{CronFile: writeCronFile(t, `
schedules:
- name: alone
  schedule: "@every 1s"
  event: {projectID: ticks, type: tick}
`)}
	log := slog.New(slog.DiscardHandler)
	gws, err := cfg.Build("cron", func(string, string) gateway.Env {
		return gateway.Env{API: client.New(ts.url, tok.Value), Log: log}
	})
	if err != nil || len(gws) != 1 {
		t.Fatalf("Build: %v %v", gws, err)
	}
	resp, err := http.Get(serveAlone(t, gws, log) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	deadline := time.After(60 * time.Second)
	for {
		l, err := root.ListEvents(t.Context(), &client.EventSelector{Labels: map[string]string{cron.ScheduleLabel: "alone"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) > 0 {
			if ev := l.Items[0]; ev.ProjectID != "ticks" || ev.Source != cron.Source {
				t.Fatalf("event %+v", ev)
			}
			return
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no event from the gateway running alone")
		}
	}
}
