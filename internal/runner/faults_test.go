package runner

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/faultstore"
)

// Fault injection: the store fails or stalls, the substrate fails to start
// or stop workloads. Each test switches a fault on, waits until the runner
// has met it (and, where it matters, retried), checks that nothing moved
// that should not have, heals the fault and waits for the work to finish
// as if nothing had happened: no event lost, nothing started twice, the
// reason in the workload's log. Faults are switched by condition, never by
// time.

// waitHits waits until calls matching pattern met its fault n times.
func (h *harness) waitHits(pattern string, n int) {
	h.t.Helper()
	if err := h.faults.WaitHits(h.ctx, pattern, n); err != nil {
		h.t.Fatal(err)
	}
}

// endAll ends the running workers (their jobs with them) as succeeded and
// waits for the events to be SUCCEEDED.
func (h *harness) succeed(ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		h.sub.end(core.WorkloadRef{EventID: id}, core.PhaseSucceeded, false)
	}
	for _, id := range ids {
		h.waitPhase(id, "", core.PhaseSucceeded)
	}
}

// waitRunning waits for the events' workers to be RUNNING. A start that
// met a fault just before it healed is put back on the queue for the
// retry delay (of the fake clock), which this moves on when one waits.
func (h *harness) waitRunning(ids ...string) {
	h.t.Helper()
	queue, cancelQueue := h.store.Subscribe(core.TopicQueue)
	defer cancelQueue()
	for _, id := range ids {
		changes, cancel := h.store.Subscribe(core.TopicEvent(id))
		for {
			phase := h.phase(id, "")
			if phase == core.PhaseRunning {
				break
			}
			now := h.clock.Now()
			due, ok, err := h.store.Queue().NextDue(h.ctx, core.TaskWorker, now)
			if err != nil {
				h.t.Fatal(err)
			}
			// A put-back task, not a lease that expires (a minute).
			if ok && due.Sub(now) <= 10*time.Second {
				h.clock.Advance(due.Sub(now))
			}
			select {
			case <-changes:
			case <-queue:
			case <-h.ctx.Done():
				h.t.Fatalf("timed out waiting for the worker of %s to be RUNNING; it is %s", id, phase)
			}
		}
		cancel()
	}
}

// startedOnce fails the test unless each workload was started exactly once.
func (h *harness) startedOnce(refs ...core.WorkloadRef) {
	h.t.Helper()
	h.sub.mu.Lock()
	defer h.sub.mu.Unlock()
	for _, ref := range refs {
		if n := h.sub.attempts[ref]; n != 1 {
			h.t.Errorf("the %s was started %d times, want once", ref, n)
		}
	}
}

func (h *harness) logOf(ref core.WorkloadRef) []string {
	h.t.Helper()
	lines, err := h.store.Logs().Read(h.ctx, stream(ref), 0, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, l := range lines {
		out = append(out, l.Message)
	}
	return out
}

func TestStoreFaults(t *testing.T) {
	t.Run("DiskFullWhileSchedulingThenHealed", func(t *testing.T) {
		h := newHarness(t, Config{}, "p")
		ids := h.send("p", 3)
		// Every commit fails: nothing can be moved to STARTING.
		h.faults.Fail("Tx", faultstore.ErrDiskFull)
		h.start()
		h.waitHits("Tx", 3) // the scheduler tried, backed off, tried again
		for _, id := range ids {
			if got := h.phase(id, ""); got != core.PhasePending {
				t.Fatalf("event %s is %s while no commit succeeds, want PENDING", id, got)
			}
		}
		if n := len(h.sub.running()); n != 0 {
			t.Fatalf("%d workloads started while no commit succeeds", n)
		}
		h.faults.Heal()
		h.waitRunning(ids...)
		h.succeed(ids...)
		refs := make([]core.WorkloadRef, len(ids))
		for i, id := range ids {
			refs[i] = core.WorkloadRef{EventID: id}
		}
		h.startedOnce(refs...)
		if h.runner.Faults() == 0 {
			t.Fatal("the runner counted no fault")
		}
	})

	t.Run("DiskFullWhenReportingRunning", func(t *testing.T) {
		h := newHarness(t, Config{}, "p")
		h.start()
		id := h.send("p", 1)[0]
		h.waitPhase(id, "", core.PhaseRunning)
		// The job moves to STARTING and starts, then every commit that
		// reports it RUNNING (and acknowledges its task) fails.
		h.faults.Fail("Queue.Ack", faultstore.ErrDiskFull)
		if err := h.createJob(id, "build"); err != nil {
			t.Fatal(err)
		}
		h.waitHits("Queue.Ack", 3)
		if got := h.phase(id, "build"); got != core.PhaseStarting {
			t.Fatalf("the job is %s while its RUNNING report cannot be stored, want STARTING", got)
		}
		h.faults.Heal()
		h.waitPhase(id, "build", core.PhaseRunning)
		if n := h.queued(core.TaskJob); n != 0 {
			t.Fatalf("%d job tasks queued once the job is RUNNING, want 0", n)
		}
		ref := core.WorkloadRef{EventID: id, Job: "build"}
		h.sub.end(ref, core.PhaseSucceeded, false)
		h.waitPhase(id, "build", core.PhaseSucceeded)
		h.succeed(id)
		h.startedOnce(core.WorkloadRef{EventID: id}, ref)
	})

	t.Run("DiskFullWhenAWorkerEnds", func(t *testing.T) {
		// Before the fix, the end of a worker that could not be stored was
		// dropped: its event stayed RUNNING until the server restarted.
		h := newHarness(t, Config{}, "p")
		h.start()
		id := h.send("p", 1)[0]
		h.waitPhase(id, "", core.PhaseRunning)
		h.faults.Fail("Events.UpdateWorkerStatus", faultstore.ErrDiskFull)
		h.sub.end(core.WorkloadRef{EventID: id}, core.PhaseSucceeded, false)
		h.waitHits("Events.UpdateWorkerStatus", 3)
		if got := h.phase(id, ""); got != core.PhaseRunning {
			t.Fatalf("the worker is %s while its end cannot be stored, want RUNNING", got)
		}
		h.faults.Heal()
		h.waitPhase(id, "", core.PhaseSucceeded)
		h.startedOnce(core.WorkloadRef{EventID: id})
	})

	t.Run("DiskFullWhenAJobEnds", func(t *testing.T) {
		h, id := runningWithJobs(t, "build")
		ref := core.WorkloadRef{EventID: id, Job: "build"}
		h.faults.Fail("Tx", faultstore.ErrDiskFull)
		h.sub.end(ref, core.PhaseFailed, false)
		h.waitHits("Tx", 3)
		h.faults.Heal()
		h.waitPhase(id, "build", core.PhaseFailed)
		h.succeed(id)
		h.startedOnce(core.WorkloadRef{EventID: id}, ref)
	})

	t.Run("LockedStoreDoesNotHideACancel", func(t *testing.T) {
		// Before the fix, a follower whose look at the store failed when
		// the cancel came never looked again: the job ran on, canceled.
		h := newHarness(t, Config{MaxJobs: 1}, "p")
		h.start()
		id := h.send("p", 1)[0]
		h.waitPhase(id, "", core.PhaseRunning)
		// The faults come before the job exists, so that every look of its
		// follower meets them: a look already under way when they came
		// could read the cancel below, and stop the job without the fault.
		// The job's creation reads its worker's phase in its transaction,
		// which a locked database does not fail.
		h.faults.Fail("Jobs.Phase", faultstore.ErrLocked)
		h.faults.FailOutsideTx("Events.WorkerPhase", faultstore.ErrLocked)
		if err := h.createJob(id, "build"); err != nil {
			t.Fatal(err)
		}
		h.waitPhase(id, "build", core.PhaseRunning)
		h.waitHits("Jobs.Phase", 1)
		if err := h.rawSvc.CancelEvent(h.root(), id); err != nil {
			t.Fatal(err)
		}
		h.waitHits("Jobs.Phase", h.faults.Hits("Jobs.Phase")+1)
		h.waitHits("Events.WorkerPhase", 2)
		if n := len(h.sub.running()); n != 2 {
			t.Fatalf("%d workloads run while the store cannot say they were canceled, want the worker and its job", n)
		}
		h.faults.Heal()
		h.wait("the canceled worker and job stopped", func() bool { return len(h.sub.running()) == 0 })
		h.waitPhase(id, "", core.PhaseAborted)
		h.waitPhase(id, "build", core.PhaseAborted)
	})

	t.Run("DiskFullWhenPuttingBackAFailedStart", func(t *testing.T) {
		// Before the fix, a failed start that could not be put back left
		// the worker STARTING with nobody to start it, for good.
		h := newHarness(t, Config{MaxAttempts: 3, RetryDelay: time.Second}, "p")
		h.sub.failFirst["p"] = 1
		h.faults.Fail("Queue.Nack", faultstore.ErrDiskFull)
		h.start()
		t0 := h.clock.Now()
		id := h.send("p", 1)[0]
		h.waitHits("Queue.Nack", 3)
		h.faults.Heal()
		h.waitDue(t0, t0.Add(time.Second))
		if got := h.phase(id, ""); got != core.PhasePending {
			t.Fatalf("a worker whose start failed is %s while its retry waits, want PENDING", got)
		}
		h.clock.Advance(time.Second)
		h.waitPhase(id, "", core.PhaseRunning)
		if n := h.sub.attemptsOf(core.WorkloadRef{EventID: id}); n != 2 {
			t.Fatalf("the worker was tried %d times, want 2", n)
		}
		if log := h.logOf(core.WorkloadRef{EventID: id}); len(log) != 1 || !strings.Contains(log[0], "attempt 1 of 3") {
			t.Fatalf("worker log %q, want the one failed attempt, once", log)
		}
	})

	t.Run("StalledCommitsStartNothing", func(t *testing.T) {
		// A commit that hangs (a lock held elsewhere) holds the scheduler
		// back; nothing starts until it goes through, then once.
		h := newHarness(t, Config{}, "p")
		ids := h.send("p", 2)
		h.faults.Stall("Tx")
		h.start()
		h.waitHits("Tx", 1)
		if n := len(h.sub.running()); n != 0 {
			t.Fatalf("%d workloads started while the commit that starts them hangs", n)
		}
		h.faults.Heal()
		h.waitRunning(ids...)
		h.succeed(ids...)
		h.startedOnce(core.WorkloadRef{EventID: ids[0]}, core.WorkloadRef{EventID: ids[1]})
	})

	t.Run("ReconcileWaitsForTheStore", func(t *testing.T) {
		h := newHarness(t, Config{}, "p")
		h.start()
		ids := h.send("p", 2)
		for _, id := range ids {
			h.waitPhase(id, "", core.PhaseRunning)
		}
		kept, lost := ids[0], ids[1]
		h.stop()
		h.sub.mu.Lock()
		delete(h.sub.live, core.WorkloadRef{EventID: lost})
		h.sub.mu.Unlock()
		waiting := h.send("p", 1)[0]
		// The restart cannot read what runs: it waits, starting nothing.
		h.faults.Fail("Events.IDs", faultstore.ErrLocked)
		h.start()
		h.waitHits("Events.IDs", 3)
		if n := h.sub.attemptsOf(core.WorkloadRef{EventID: waiting}); n != 0 {
			t.Fatalf("a new worker was started %d times before the restart knew what ran", n)
		}
		h.faults.Heal()
		h.waitPhase(lost, "", core.PhaseAborted)
		h.waitPhase(waiting, "", core.PhaseRunning)
		h.succeed(kept, waiting)
		if log := h.logOf(core.WorkloadRef{EventID: lost}); len(log) != 1 || !strings.Contains(log[0], "the server restarted") {
			t.Fatalf("lost worker's log %q, want the reason it was aborted, once", log)
		}
	})

	t.Run("FailedCleanupIsRetried", func(t *testing.T) {
		h := newHarness(t, Config{CleanupRetry: time.Second}, "p")
		h.start()
		id := h.send("p", 1)[0]
		h.waitPhase(id, "", core.PhaseRunning)
		h.succeed(id)
		h.faults.Fail("Cleanups.Done", faultstore.ErrDiskFull)
		h.clock.Advance(cleanupDelay)
		h.waitHits("Cleanups.Done", 1)
		h.faults.Heal()
		// The entry stays: it is done again (idempotent) when next due.
		for {
			_, ok, err := h.store.Cleanups().Next(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			h.clock.Advance(time.Second)
			h.wait("the cleanup done or due again", func() bool {
				due, ok, err := h.store.Cleanups().Next(h.ctx)
				return err == nil && (!ok || due.After(h.clock.Now()))
			})
		}
		if !slices.Contains(h.sub.cleanedList(), id) {
			t.Fatal("the substrate was not asked to clean up")
		}
	})
}

func TestSubstrateFaults(t *testing.T) {
	t.Run("AJobThatFailsToStartIsRetriedThenRuns", func(t *testing.T) {
		h := newHarness(t, Config{MaxAttempts: 3, RetryDelay: time.Second}, "p")
		h.sub.failJobs["build"] = 2
		h.start()
		id := h.send("p", 1)[0]
		h.waitPhase(id, "", core.PhaseRunning)
		t0 := h.clock.Now()
		if err := h.createJob(id, "build"); err != nil {
			t.Fatal(err)
		}
		ref := core.WorkloadRef{EventID: id, Job: "build"}
		for attempt, delay := range []time.Duration{time.Second, 2 * time.Second} {
			h.wait("the job's failed start put back", func() bool {
				due, ok, err := h.store.Queue().NextDue(h.ctx, core.TaskJob, t0)
				return err == nil && ok && due.Equal(h.clock.Now().Add(delay))
			})
			if got := h.phase(id, "build"); got != core.PhasePending {
				t.Fatalf("after %d failed starts the job is %s, want PENDING", attempt+1, got)
			}
			t0 = h.clock.Now()
			h.clock.Advance(delay)
		}
		h.waitPhase(id, "build", core.PhaseRunning)
		log := h.logOf(ref)
		if len(log) != 2 || !strings.Contains(log[0], "could not start this job (attempt 1 of 3), trying again in 1s: ") ||
			!strings.Contains(log[1], "(attempt 2 of 3), trying again in 2s: ") || !strings.Contains(log[1], "no space left on device") {
			t.Fatalf("job log %q, want each failed attempt with its reason", log)
		}
		h.sub.end(ref, core.PhaseSucceeded, false)
		h.waitPhase(id, "build", core.PhaseSucceeded)
		h.succeed(id)
		if n := h.sub.attemptsOf(ref); n != 3 {
			t.Fatalf("the job was tried %d times, want 3 (two failures, one start)", n)
		}
	})

	t.Run("AJobThatNeverStartsIsSchedulingFailedWithItsReason", func(t *testing.T) {
		h := newHarness(t, Config{MaxAttempts: 2, RetryDelay: time.Second}, "p")
		h.sub.failJobs["build"] = 100
		h.start()
		id := h.send("p", 1)[0]
		h.waitPhase(id, "", core.PhaseRunning)
		t0 := h.clock.Now()
		if err := h.createJob(id, "build"); err != nil {
			t.Fatal(err)
		}
		h.wait("the job's failed start put back", func() bool {
			due, ok, err := h.store.Queue().NextDue(h.ctx, core.TaskJob, t0)
			return err == nil && ok && due.Equal(t0.Add(time.Second))
		})
		h.clock.Advance(time.Second)
		h.waitPhase(id, "build", core.PhaseSchedulingFailed)
		j, err := h.store.Jobs().Get(h.ctx, id, "build")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(j.Status.Reason, "could not start after 2 attempts") || !strings.Contains(j.Status.Reason, "no space left on device") {
			t.Fatalf("the job's reason is %q, want why it could not start", j.Status.Reason)
		}
		h.succeed(id)
	})

	t.Run("AStopThatFailsIsRetried", func(t *testing.T) {
		h, id := runningWithJobs(t, "build")
		h.sub.mu.Lock()
		h.sub.failStops = 3
		h.sub.mu.Unlock()
		if err := h.rawSvc.CancelEvent(h.root(), id); err != nil {
			t.Fatal(err)
		}
		h.wait("the worker and its job stopped despite failed stops", func() bool { return len(h.sub.running()) == 0 })
		h.waitPhase(id, "", core.PhaseAborted)
		h.waitPhase(id, "build", core.PhaseAborted)
		h.sub.mu.Lock()
		defer h.sub.mu.Unlock()
		if h.sub.stopFails != 3 {
			t.Fatalf("%d stops failed, want 3", h.sub.stopFails)
		}
	})
}
