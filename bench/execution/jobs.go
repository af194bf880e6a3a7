package main

import (
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// jobOverhead runs a script of n sequential no-op jobs and compares it with
// n bare spawns of the same command.
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
	// The bare spawns run half before the platform's jobs and half after,
	// so that the machine's drift during the run (these machines are
	// shared) weighs on both alike.
	spawn := func(k int) (time.Duration, error) {
		t0 := time.Now()
		for range k {
			if err := exec.Command("true").Run(); err != nil {
				return 0, err
			}
		}
		return time.Since(t0), nil
	}
	_, kidsA := usage()
	bareBefore, err := spawn(n / 2)
	if err != nil {
		return err
	}
	self0, kids0 := usage()
	ev, _, err := b.runEvent("jobs")
	if err != nil {
		return err
	}
	self1, kids1 := usage()
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
	bareAfter, err := spawn(n - n/2)
	if err != nil {
		return err
	}
	bare := bareBefore + bareAfter
	_, kids2 := usage()
	fmt.Printf("jobs: %d sequential no-op jobs (`true`)\n", n)
	fmt.Printf("  through the platform %8.1f ms (%.2f ms/job, first start → last end)\n", ms(platform), ms(platform)/float64(n))
	fmt.Printf("  bare spawns          %8.1f ms (%.2f ms/spawn; half before the jobs, half after)\n", ms(bare), ms(bare)/float64(n))
	fmt.Printf("  overhead             %8.2f ms/job\n", (ms(platform)-ms(bare))/float64(n))
	fmt.Printf("  per job: created → started %.2f ms, started → ended %.2f ms, ended → next created %.2f ms\n",
		ms(sched)/float64(n), ms(run)/float64(n), ms(next)/float64(max(n-1, 1)))
	// The server runs in this process; the worker and the jobs are its
	// children, as the bare spawns are this process's.
	fmt.Printf("  CPU per job: server %.3f ms, worker and job %.3f ms; a bare spawn %.3f ms\n",
		ms(self1-self0)/float64(n), ms(kids1-kids0)/float64(n), ms(kids2-kids1+kids0-kidsA)/float64(n))
	return nil
}

// usage is the CPU time (user and system) of this process, and of its
// children that were waited for.
func usage() (self, children time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
		children = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return self, children
}

// fanout runs n concurrent jobs that each sleep 1 s ten times, and measures
// from the event's creation (its created timestamp, stamped by the server
// before it answered 201) to the last job's end, against the ideal 10 s.
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
	ev, accepted, err := b.runEvent("fanout")
	if err != nil {
		return err
	}
	f, err := measureFanout(ev, n)
	if err != nil {
		return err
	}
	fmt.Printf("fanout: %d concurrent jobs, each sleeping 1 s ten times (local substrate, in-process server)\n", n)
	f.print("1.01", accepted)
	bare, err := bareFanout(n)
	if err != nil {
		return err
	}
	fmt.Printf("  baseline: %d concurrent bare processes of the same, first start → last exit %.3f s; ratio %.4f\n",
		n, bare.Seconds(), bare.Seconds()/ideal.Seconds())
	return nil
}

// bareFanout runs the fan-out's command in n processes at once and returns
// how long the last one took to exit.
func bareFanout(n int) (time.Duration, error) {
	cmds := make([]*exec.Cmd, n)
	t0 := time.Now()
	for i := range cmds {
		cmds[i] = exec.Command("sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1; done")
		if err := cmds[i].Start(); err != nil {
			return 0, err
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}
