package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// TestBinaryRunsEvents drives the real binary on the local substrate:
// events created over HTTP run to SUCCEEDED, FAILED, TIMED_OUT and ABORTED
// with the logs their scripts and jobs wrote.
func TestBinaryRunsEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; skipped with -short")
	}
	bin := buildBinary(t)
	addr := freeAddr(t)
	startBinary(t, bin, t.TempDir(), addr, "BRIGADE_CLEANUP_DELAY=1h")
	c := client.New("http://"+addr, rootToken(t, addr))
	ctx := t.Context()

	script := `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const mode = event.payload;
  console.log("mode is " + mode);
  const j = new Job("step", "debian:12-slim", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", {
    ok: "echo all good",
    fail: "echo failing; exit 2",
    slow: "echo sleeping; sleep 60",
    hang: "echo sleeping; sleep 600",
  }[mode]];
  if (mode === "slow") j.timeoutSeconds = 1;
  await j.run();
});
events.process();`
	// DEBUG: the worker logs "Current job phase is …" for each status of a
	// job it created, which tells the canceled case that its job exists.
	if _, err := c.CreateProject(ctx, &core.Project{Metadata: core.ObjectMeta{ID: "modes"}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
		WorkerTemplate:     core.WorkerSpec{LogLevel: "DEBUG", DefaultConfigFiles: map[string]string{"brigade.js": script}},
	}}); err != nil {
		t.Fatal(err)
	}
	send := func(payload string) string {
		evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: "modes", Source: "brigade.sh/cli", Type: "exec", Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		return evs[0].Metadata.ID
	}
	wait := func(id string) *core.Event {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // generous: only turns a hang into a failure
		defer cancel()
		st, errs := c.WatchWorkerStatus(wctx, id)
		for range st {
		}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		ev, err := c.GetEvent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	logs := func(id, job string) string {
		lines, errs := c.Logs(ctx, id, client.LogOptions{Job: job})
		var sb strings.Builder
		for l := range lines {
			sb.WriteString(l.Message + "\n")
		}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		return sb.String()
	}
	cases := []struct {
		payload           string
		worker, job       core.WorkerPhase
		workerLog, jobLog string
	}{
		{"ok", core.PhaseSucceeded, core.PhaseSucceeded, "mode is ok", "all good"},
		{"fail", core.PhaseFailed, core.PhaseFailed, `Job "step" failed`, "failing"},
		{"slow", core.PhaseFailed, core.PhaseTimedOut, `Job "step" timed out`, "sleeping"},
	}
	for _, tc := range cases {
		t.Run(tc.payload, func(t *testing.T) {
			id := send(tc.payload)
			ev := wait(id)
			if ev.Worker.Status.Phase != tc.worker || ev.Worker.Jobs[0].Status.Phase != tc.job {
				t.Fatalf("worker %s job %s, want %s %s\n%s", ev.Worker.Status.Phase, ev.Worker.Jobs[0].Status.Phase,
					tc.worker, tc.job, logs(id, ""))
			}
			if l := logs(id, ""); !strings.Contains(l, tc.workerLog) {
				t.Fatalf("worker log lacks %q:\n%s", tc.workerLog, l)
			}
			if l := logs(id, "step"); !strings.Contains(l, tc.jobLog) {
				t.Fatalf("job log lacks %q:\n%s", tc.jobLog, l)
			}
		})
	}
	t.Run("canceled", func(t *testing.T) {
		// "hang" has no short timeout: the job runs until it is canceled.
		id := send("hang")
		fctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // generous: only turns a hang into a failure
		defer cancel()
		// follow reads a log until a line contains want; the stream ends
		// on its own only when the worker or job has finished.
		follow := func(job, want string) {
			t.Helper()
			lctx, stop := context.WithCancel(fctx)
			defer stop() // ends the stream once the line is there
			lines, errs := c.Logs(lctx, id, client.LogOptions{Job: job, Follow: true})
			var seen []string
			for l := range lines {
				seen = append(seen, l.Message)
				if strings.Contains(l.Message, want) {
					return
				}
			}
			t.Fatalf("the log of %q ended (%v) without a line containing %q:\n%s", job, <-errs, want, strings.Join(seen, "\n"))
		}
		// The worker's log says the job exists (a status of it was read),
		// then the job's own log says it runs.
		follow("", "Current job phase is")
		follow("step", "sleeping")
		if err := c.CancelEvent(ctx, id); err != nil {
			t.Fatal(err)
		}
		ev := wait(id)
		if ev.Worker.Status.Phase != core.PhaseAborted || ev.Worker.Jobs[0].Status.Phase != core.PhaseAborted {
			t.Fatalf("worker %s job %s after cancel", ev.Worker.Status.Phase, ev.Worker.Jobs[0].Status.Phase)
		}
	})
}
