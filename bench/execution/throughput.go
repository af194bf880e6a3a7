package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

const oneJob = `const { events, Job } = require("@brigadecore/brigadier");
events.on("bench.example.com", "run", async event => {
  const j = new Job("true", "debian:12-slim", event);
  j.primaryContainer.command = ["true"];
  await j.run();
});
events.process();`

// throughput starts a brigade server as a child process, reads its RSS,
// creates o.throughput one-job events at once, waits until every one is
// over and the server runs nothing, and reports events/s against bare
// spawns of `true`, then the idle server's RSS.
func throughput(bin, dir string, o options) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, drop, err := benchDatabase(context.Background(), o.database, "bench_throughput")
	if err != nil {
		return err
	}
	defer drop()
	srv, err := startServer(bin, dir, db, o.maxWorkers)
	if err != nil {
		return err
	}
	defer srv.stop()
	startRSS, _, err := srv.memory()
	if err != nil {
		return err
	}
	c, err := srv.client(ctx, o.clients)
	if err != nil {
		return err
	}
	if err := createProject(ctx, c, "throughput", oneJob); err != nil {
		return err
	}
	bare, err := bareSpawns(o.throughput, o.maxWorkers)
	if err != nil {
		return err
	}

	cpuSelf0, cpuKids0, err := srv.cpu()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := createEvents(ctx, c, "throughput", o.throughput, o.clients); err != nil {
		return err
	}
	created := time.Since(t0)
	if err := waitIdle(ctx, c, "throughput"); err != nil {
		return err
	}
	observed := time.Since(t0)
	cpuSelf1, cpuKids1, err := srv.cpu()
	if err != nil {
		return err
	}
	idleRSS, peak, err := srv.memory()
	if err != nil {
		return err
	}
	sp, err := eventSpan(ctx, c, "throughput")
	if err != nil {
		return err
	}
	n := o.throughput
	took := sp.last.Sub(sp.first)
	rate := float64(n) / took.Seconds()
	bareRate := float64(n) / bare.Seconds()
	fmt.Printf("throughput: %d one-job events (`true`) created at once by %d clients, `brigade server --max-workers %d --cleanup-delay 1s` as a child process\n",
		n, o.clients, o.maxWorkers)
	fmt.Printf("  first event created → last worker end %.2f s: %.1f events/s (target ≥ 200/s)\n", took.Seconds(), rate)
	fmt.Printf("  baseline: %d bare spawns of `true`, %d at a time, %.2f s: %.1f spawns/s; platform / bare %.3f\n",
		n, o.maxWorkers, bare.Seconds(), bareRate, rate/bareRate)
	fmt.Printf("  a worker ran %.1f ms on average (start → end); %.2f workers running on average\n",
		ms(sp.busy)/float64(n), sp.busy.Seconds()/took.Seconds())
	fmt.Printf("  on average: %s\n", sp.hops)
	fmt.Printf("  client side: all %d created (201) in %.2f s, all seen over after %.2f s\n", n, created.Seconds(), observed.Seconds())
	self, kids := cpuSelf1-cpuSelf0, cpuKids1-cpuKids0
	fmt.Printf("  CPU per event: server %.2f ms + its children (workers, jobs, live standbys included) %.2f ms = %.2f ms; %.2f cores busy on average\n",
		ms(self)/float64(n), ms(kids)/float64(n), ms(self+kids)/float64(n), (self+kids).Seconds()/observed.Seconds())
	if sp.phases[core.PhaseSucceeded] != n {
		err = fmt.Errorf("not every event SUCCEEDED: %v", sp.phases)
	}

	time.Sleep(o.settle)
	settledRSS, _, merr := srv.memory()
	if merr != nil {
		return merr
	}
	fmt.Printf("idle RSS of that server (VmRSS, no GC forced)\n")
	fmt.Printf("  right after start      %6.1f MiB (baseline)\n", mib(startRSS))
	fmt.Printf("  idle after the events  %6.1f MiB (target ≤ 30 MB); %.1f MiB %s later; peak (VmHWM) %.1f MiB\n",
		mib(idleRSS), mib(settledRSS), o.settle, mib(peak))
	if anon, file, err := srv.rssParts(); err == nil {
		fmt.Printf("  of which %.1f MiB anonymous (heap, stacks, SQLite's cache) and %.1f MiB file pages (the binary's code)\n",
			mib(anon), mib(file))
	}
	if anon, file, err := srv.pssParts(); err == nil {
		fmt.Printf("  proportional (Pss): %.1f MiB anonymous and %.1f MiB file pages (shared with the workers that run the same binary)\n",
			mib(anon), mib(file))
	}
	if heap, idle, stacks, err := srv.goMemory(ctx); err == nil {
		fmt.Printf("  Go runtime: heap in use %.1f MiB, heap idle not yet returned %.1f MiB, stacks %.1f MiB\n",
			float64(heap)/(1<<20), float64(idle)/(1<<20), float64(stacks)/(1<<20))
	}
	if err == nil && o.wakes > 0 {
		cold, warm, werr := afterIdle(ctx, c, "throughput", o.wakes)
		if werr != nil {
			return werr
		}
		fmt.Printf("first event after idle (created → worker ended, one-job script), %d rounds\n", o.wakes)
		fmt.Printf("  into a server idle %s (its idle trims done)  p50 %6.2f ms   max %6.2f ms\n", idleWait, ms(pct(cold, .5)), ms(cold[len(cold)-1]))
		fmt.Printf("  the next one at once (baseline)           p50 %6.2f ms   max %6.2f ms\n", ms(pct(warm, .5)), ms(warm[len(warm)-1]))
	}
	if nw, notes := srv.warnings(); nw > 0 {
		fmt.Printf("  the server logged %d warnings or errors, first: %s\n", nw, strings.Join(notes, "\n    "))
	}
	return err
}

func mib(kB int64) float64 { return float64(kB) / 1024 }

// bareSpawns runs n `true` processes, conc at a time.
func bareSpawns(n, conc int) (time.Duration, error) {
	var next atomic.Int64
	errs := make(chan error, conc)
	t0 := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := exec.Command("true").Run(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(t0)
	close(errs)
	return took, <-errs
}

// createEvents creates n events of project with conc concurrent clients.
func createEvents(ctx context.Context, c *client.Client, project string, n, conc int) error {
	var next atomic.Int64
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, err := c.CreateEvent(ctx, &core.Event{ProjectID: project, Source: "bench.example.com", Type: "run"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// waitIdle returns once no event of project is unfinished and the substrate
// runs no worker and no job. It gives up when the unfinished count has not
// moved for a minute.
func waitIdle(ctx context.Context, c *client.Client, project string) error {
	var open []core.WorkerPhase
	for _, p := range core.AllPhases {
		if !p.IsTerminal() {
			open = append(open, p)
		}
	}
	last, moved := int64(-1), time.Now()
	for {
		l, err := c.ListEvents(ctx, &client.EventSelector{ProjectID: project, WorkerPhases: open}, &client.ListOptions{Limit: 1})
		if err != nil {
			return err
		}
		left := int64(len(l.Items)) + l.Metadata.RemainingItemCount
		if left == 0 {
			w, err := c.RunningWorkers(ctx)
			if err != nil {
				return err
			}
			j, err := c.RunningJobs(ctx)
			if err != nil {
				return err
			}
			if w == 0 && j == 0 {
				return nil
			}
		}
		if left != last {
			last, moved = left, time.Now()
		} else if time.Since(moved) > time.Minute {
			return fmt.Errorf("stalled: %d events unfinished for a minute", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// span is what the events of one project show, in server time.
// hops sums where a one-job worker's time goes, over n workers.
type hops struct {
	n                                       int
	toCreate, toStart, running, toWorkerEnd time.Duration
}

func (h *hops) add(w core.WorkerStatus, j core.Job) {
	js := j.Status
	if j.Created == nil || js == nil || js.Started == nil || js.Ended == nil {
		return
	}
	h.n++
	h.toCreate += j.Created.Sub(*w.Started)
	h.toStart += js.Started.Sub(*j.Created)
	h.running += js.Ended.Sub(*js.Started)
	h.toWorkerEnd += w.Ended.Sub(*js.Ended)
}

func (h hops) String() string {
	if h.n == 0 {
		return "no one-job workers to break down"
	}
	avg := func(d time.Duration) float64 { return ms(d) / float64(h.n) }
	return fmt.Sprintf("worker started → job created %.2f ms, → job started %.2f ms, → job ended %.2f ms, → worker ended %.2f ms",
		avg(h.toCreate), avg(h.toStart), avg(h.running), avg(h.toWorkerEnd))
}

type span struct {
	hops        hops
	first, last time.Time     // first creation, last worker end
	busy        time.Duration // sum of the workers' start → end
	phases      map[core.WorkerPhase]int
}

// eventSpan reads every event of project.
func eventSpan(ctx context.Context, c *client.Client, project string) (span, error) {
	s := span{phases: map[core.WorkerPhase]int{}}
	opts := &client.ListOptions{Limit: 100}
	for {
		l, err := c.ListEvents(ctx, &client.EventSelector{ProjectID: project}, opts)
		if err != nil {
			return s, err
		}
		for _, ev := range l.Items {
			if ev.Worker == nil || ev.Metadata.Created == nil {
				return s, fmt.Errorf("event %s has no creation time or no worker", ev.Metadata.ID)
			}
			st := ev.Worker.Status
			s.phases[st.Phase]++
			if s.first.IsZero() || ev.Metadata.Created.Before(s.first) {
				s.first = *ev.Metadata.Created
			}
			if st.Ended != nil && st.Ended.After(s.last) {
				s.last = *st.Ended
			}
			if st.Started != nil && st.Ended != nil {
				s.busy += st.Ended.Sub(*st.Started)
				if len(ev.Worker.Jobs) == 1 {
					s.hops.add(st, ev.Worker.Jobs[0])
				}
			}
		}
		if l.Metadata.Continue == "" {
			return s, nil
		}
		opts.Continue = l.Metadata.Continue
	}
}

// idleWait is how long afterIdle leaves the server alone before each cold
// event: past the runner's 2 s idle delay, after which the server trims its
// caches and releases its code pages.
const idleWait = 3 * time.Second

// afterIdle measures what an idle server's trims cost the next event: n
// times, it leaves the server idle for idleWait, then times one event from
// its creation to its worker's end (server times), then one more at once.
func afterIdle(ctx context.Context, c *client.Client, project string, n int) (cold, warm []time.Duration, err error) {
	for range n {
		time.Sleep(idleWait)
		for _, into := range []*[]time.Duration{&cold, &warm} {
			d, err := oneEvent(ctx, c, project)
			if err != nil {
				return nil, nil, err
			}
			*into = append(*into, d)
		}
	}
	sortDur(cold)
	sortDur(warm)
	return cold, warm, nil
}

// oneEvent creates an event of project and returns, once its worker is
// over, the time from its creation to its worker's end (server times).
func oneEvent(ctx context.Context, c *client.Client, project string) (time.Duration, error) {
	evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: project, Source: "bench.example.com", Type: "run"})
	if err != nil {
		return 0, err
	}
	if len(evs) != 1 || evs[0].Metadata.Created == nil {
		return 0, fmt.Errorf("one event with its creation time for project %s, got %d", project, len(evs))
	}
	ev := evs[0]
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	statuses, errs := c.WatchWorkerStatus(ctx, ev.Metadata.ID)
	var last core.WorkerStatus
	for st := range statuses {
		last = st
	}
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("watching event %s: %w", ev.Metadata.ID, err)
	}
	if last.Phase != core.PhaseSucceeded || last.Ended == nil {
		return 0, fmt.Errorf("event %s ended %s", ev.Metadata.ID, last.Phase)
	}
	return last.Ended.Sub(*ev.Metadata.Created), nil
}
