// Command execution measures how fast events run on one machine (SQLite +
// the local substrate), each figure next to a baseline measured in the same
// run:
//
//   - latency: event accepted (201) → the worker's script running (its first
//     log line), p50/p99 over -events events sent one at a time;
//
//   - jobs: a script running -jobs sequential no-op jobs, against the same
//     number of bare spawns of the same command;
//
//   - fanout: -fanout concurrent jobs that each sleep 1 s ten times, against
//     the ideal 10 s.
//
//     go run ./bench/execution
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func main() {
	testenv.Hooks() // this binary also serves as the worker
	events := flag.Int("events", 200, "events for the latency figure")
	jobs := flag.Int("jobs", 200, "sequential no-op jobs for the per-job overhead")
	fanout := flag.Int("fanout", 20, "concurrent jobs for the fan-out figure (0 skips it)")
	flag.Parse()
	if err := run(*events, *jobs, *fanout); err != nil {
		fmt.Fprintln(os.Stderr, "execution:", err)
		os.Exit(1)
	}
}

type bench struct {
	c   *client.Client
	ctx context.Context
}

func run(events, jobs, fanout int) error {
	dir, err := os.MkdirTemp("", "brigade-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: dir, RootPassword: "bench-password",
		MaxJobs: 64, CleanupDelay: time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c := client.New("http://"+srv.Addr(), "")
	tok, err := c.CreateRootSession(ctx, "bench-password")
	if err != nil {
		return err
	}
	b := &bench{c: c.WithToken(tok.Value), ctx: ctx}
	if events > 0 {
		if err := b.latency(events); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
	}
	if jobs > 0 {
		if err := b.jobOverhead(jobs); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
	}
	if fanout > 0 {
		if err := b.fanout(fanout); err != nil {
			return fmt.Errorf("fanout: %w", err)
		}
	}
	return nil
}

func (b *bench) project(id, script string) error {
	_, err := b.c.CreateProject(b.ctx, &core.Project{Metadata: core.ObjectMeta{ID: id},
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "bench.example.com", Types: []string{"*"}}},
			WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
		}})
	return err
}

// runEvent sends an event to a project and waits for its worker to end.
func (b *bench) runEvent(project string) (*core.Event, time.Time, error) {
	sent := time.Now()
	evs, err := b.c.CreateEvent(b.ctx, &core.Event{ProjectID: project, Source: "bench.example.com", Type: "run"})
	if err != nil {
		return nil, sent, err
	}
	accepted := time.Now()
	id := evs[0].Metadata.ID
	st, errs := b.c.WatchWorkerStatus(b.ctx, id)
	for range st {
	}
	if err := <-errs; err != nil {
		return nil, accepted, err
	}
	ev, err := b.c.GetEvent(b.ctx, id)
	if err != nil {
		return nil, accepted, err
	}
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		return nil, accepted, fmt.Errorf("event %s ended %s", id, ev.Worker.Status.Phase)
	}
	return ev, accepted, nil
}

// firstScriptLine returns the time of the script's first own log line.
func (b *bench) firstScriptLine(id, marker string) (time.Time, error) {
	lines, errs := b.c.Logs(b.ctx, id, client.LogOptions{})
	var at time.Time
	for l := range lines {
		if at.IsZero() && strings.Contains(l.Message, marker) && l.Time != nil {
			at = *l.Time
		}
	}
	if err := <-errs; err != nil {
		return at, err
	}
	if at.IsZero() {
		return at, fmt.Errorf("no %q line in the worker log of %s", marker, id)
	}
	return at, nil
}

func (b *bench) latency(n int) error {
	if err := b.project("latency", `console.log("script running");`); err != nil {
		return err
	}
	lat := make([]time.Duration, 0, n)
	var spawn []time.Duration
	for i := 0; i < n; i++ {
		ev, accepted, err := b.runEvent("latency")
		if err != nil {
			return err
		}
		at, err := b.firstScriptLine(ev.Metadata.ID, "script running")
		if err != nil {
			return err
		}
		lat = append(lat, at.Sub(accepted))
		// Baseline: starting the same worker binary and having it exit.
		exe, _ := os.Executable()
		t0 := time.Now()
		if err := exec.Command(exe, "-events=0", "-jobs=0", "-fanout=0", "-h").Run(); err != nil {
			var ee *exec.ExitError
			if !asExit(err, &ee) {
				return err
			}
		}
		spawn = append(spawn, time.Since(t0))
	}
	sortDur(lat)
	sortDur(spawn)
	fmt.Printf("latency: event accepted → script running, %d events one at a time (local substrate)\n", n)
	fmt.Printf("  p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", ms(pct(lat, .5)), ms(pct(lat, .99)), ms(lat[len(lat)-1]))
	fmt.Printf("  baseline: bare start+exit of the worker binary p50 %.2f ms, p99 %.2f ms\n", ms(pct(spawn, .5)), ms(pct(spawn, .99)))
	return nil
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

func (b *bench) jobOverhead(n int) error {
	script := fmt.Sprintf(`const { events, Job } = require("@brigadecore/brigadier");
events.on("bench.example.com", "run", async event => {
  for (let i = 0; i < %d; i++) {
    const j = new Job("noop-" + i, "debian:12-slim", event);
    j.primaryContainer.command = ["true"];
    await j.run();
  }
});
events.process();`, n)
	if err := b.project("jobs", script); err != nil {
		return err
	}
	ev, _, err := b.runEvent("jobs")
	if err != nil {
		return err
	}
	first, last := *ev.Worker.Jobs[0].Status.Started, *ev.Worker.Jobs[len(ev.Worker.Jobs)-1].Status.Ended
	platform := last.Sub(first)
	var sched, run, next time.Duration
	for i, j := range ev.Worker.Jobs {
		sched += j.Status.Started.Sub(*j.Created)
		run += j.Status.Ended.Sub(*j.Status.Started)
		if i > 0 {
			next += j.Created.Sub(*ev.Worker.Jobs[i-1].Status.Ended)
		}
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if err := exec.Command("true").Run(); err != nil {
			return err
		}
	}
	bare := time.Since(t0)
	fmt.Printf("jobs: %d sequential no-op jobs (`true`)\n", n)
	fmt.Printf("  through the platform %8.1f ms (%.2f ms/job, first start → last end)\n", ms(platform), ms(platform)/float64(n))
	fmt.Printf("  bare spawns          %8.1f ms (%.2f ms/spawn)\n", ms(bare), ms(bare)/float64(n))
	fmt.Printf("  overhead             %8.2f ms/job\n", (ms(platform)-ms(bare))/float64(n))
	fmt.Printf("  per job: created → started %.2f ms, started → ended %.2f ms, ended → next created %.2f ms\n",
		ms(sched)/float64(n), ms(run)/float64(n), ms(next)/float64(n-1))
	return nil
}

func (b *bench) fanout(n int) error {
	script := fmt.Sprintf(`const { events, Job } = require("@brigadecore/brigadier");
events.on("bench.example.com", "run", async event => {
  const jobs = [];
  for (let i = 0; i < %d; i++) {
    const j = new Job("sleeper-" + i, "debian:12-slim", event);
    j.primaryContainer.command = ["sh"];
    j.primaryContainer.arguments = ["-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1; done"];
    jobs.push(j);
  }
  await Job.concurrent(...jobs).run();
});
events.process();`, n)
	if err := b.project("fanout", script); err != nil {
		return err
	}
	ev, _, err := b.runEvent("fanout")
	if err != nil {
		return err
	}
	var first, last time.Time
	for _, j := range ev.Worker.Jobs {
		if first.IsZero() || j.Status.Started.Before(first) {
			first = *j.Status.Started
		}
		if j.Status.Ended.After(last) {
			last = *j.Status.Ended
		}
	}
	total := last.Sub(first)
	fmt.Printf("fanout: %d concurrent jobs, each sleeping 1 s ten times\n", n)
	fmt.Printf("  first start → last end %.3f s; ideal 10 s; %+.2f%%\n", total.Seconds(), (total.Seconds()-10)/10*100)
	return nil
}

func sortDur(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

func pct(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
