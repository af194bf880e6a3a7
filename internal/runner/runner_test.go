package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sync/errgroup"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/clock"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/seal"
	"github.com/brigadeplatform/brigade/internal/store/faultstore"
	"github.com/brigadeplatform/brigade/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait on a condition: generous, for a busy machine.
const waitTimeout = 2 * time.Minute

const cleanupDelay = time.Minute

type harness struct {
	t     testing.TB
	ctx   context.Context // bounded by waitTimeout
	clock *clock.Fake
	store *sqlite.Store // the real store, for the test's own reads
	// faults wraps store: the service and the runner use it, so faults
	// switched on there meet them and not the test.
	faults *faultstore.Store
	svc    *api.Service
	// rawSvc is a service on the real store, for what the test does
	// through the API while the runner meets faults (as another replica).
	rawSvc *api.Service
	sub    *fakeSubstrate
	cfg    Config
	stop   func()
	// runner is the one start made last.
	runner *Runner
}

func newHarness(t testing.TB, cfg Config, projects ...string) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	clk := clock.NewFake(time.Now())
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"), slog.New(slog.DiscardHandler), sqlite.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := seal.New(make([]byte, seal.KeySize))
	faults := faultstore.New(st)
	svc := api.New(faults, sealer, api.Config{CleanupDelay: cleanupDelay, Now: clk.Now}, nil)
	rawSvc := api.New(st, sealer, api.Config{CleanupDelay: cleanupDelay, Now: clk.Now}, nil)
	h := &harness{t: t, ctx: ctx, clock: clk, store: st, faults: faults, svc: svc, rawSvc: rawSvc, sub: newFakeSubstrate(clk), cfg: cfg}
	for _, p := range projects {
		if _, err := svc.CreateProject(h.root(), &core.Project{Metadata: core.ObjectMeta{ID: p}, Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "src.example", Types: []string{"*"}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *harness) root() context.Context { return auth.With(h.ctx, auth.Root("")) }

// start runs a runner until the test ends (or stop is called).
func (h *harness) start() {
	h.t.Helper()
	cfg := h.cfg
	cfg.Clock = h.clock
	cfg.RetryDelay = max(cfg.RetryDelay, time.Second)
	if cfg.Jitter == nil {
		// Put-back tasks fall due at exact times, which the tests wait for.
		cfg.Jitter = func(d time.Duration) time.Duration { return d }
	}
	if cfg.BackoffMin == 0 {
		// Retries after a fault come fast: tests wait on their outcome.
		cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 20*time.Millisecond
	}
	r := New(cfg, h.svc, h.faults, h.sub, slog.New(slog.DiscardHandler))
	h.runner = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("runner stopped with error: %v", err)
			}
		})
	}
	h.t.Cleanup(h.stop)
}

func (h *harness) send(project string, n int) []string {
	h.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		evs, err := h.svc.CreateEvent(h.root(), &core.Event{ProjectID: project, Source: "src.example", Type: "t"})
		if err != nil {
			h.t.Fatal(err)
		}
		ids[i] = evs[0].Metadata.ID
	}
	return ids
}

// wait blocks until cond holds, re-checking it on every change of the fake
// substrate and of the event's state.
func (h *harness) wait(what string, cond func() bool) {
	h.t.Helper()
	events, cancel := h.store.Subscribe(core.TopicQueue)
	defer cancel()
	cleanups, cancelCleanups := h.store.Subscribe(core.TopicCleanup)
	defer cancelCleanups()
	for {
		h.sub.mu.Lock()
		ch := h.sub.changed
		h.sub.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-events:
		case <-cleanups:
		case <-h.ctx.Done():
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitPhase blocks until an event's worker (job "") or a job is in phase.
func (h *harness) waitPhase(id, job string, want core.WorkerPhase) {
	h.t.Helper()
	changes, cancel := h.store.Subscribe(core.TopicEvent(id))
	defer cancel()
	for {
		got := h.phase(id, job)
		if got == want {
			return
		}
		select {
		case <-changes:
		case <-h.ctx.Done():
			h.t.Fatalf("timed out waiting for %s to be %s; it is %s", core.WorkloadRef{EventID: id, Job: job}, want, got)
		}
	}
}

func (h *harness) phase(id, job string) core.WorkerPhase {
	h.t.Helper()
	if job == "" {
		ev, err := h.store.Events().Head(h.ctx, id)
		if err != nil {
			h.t.Fatal(err)
		}
		return ev.Worker.Status.Phase
	}
	j, err := h.store.Jobs().Get(h.ctx, id, job)
	if err != nil {
		h.t.Fatal(err)
	}
	return j.Status.Phase
}

// runningWorkers counts the fake's live workers.
func (h *harness) runningWorkers() int {
	n := 0
	for _, ref := range h.sub.running() {
		if ref.IsWorker() {
			n++
		}
	}
	return n
}

func (h *harness) runningJobs(id string) []core.WorkloadRef {
	var out []core.WorkloadRef
	for _, ref := range h.sub.running() {
		if !ref.IsWorker() && ref.EventID == id {
			out = append(out, ref)
		}
	}
	return out
}

// createJob adds a job as the event's worker would.
func (h *harness) createJob(id, name string) error {
	return h.svc.CreateJob(auth.With(h.ctx, auth.Worker(id)), id, &core.Job{Name: name,
		Spec: core.JobSpec{PrimaryContainer: core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "busybox"}}}})
}

// drainWorkers ends running workers one at a time, each once `limit` of
// them (or all that remain) run, until `total` have run.
func (h *harness) drainWorkers(total, limit int) []core.WorkloadRef {
	h.t.Helper()
	for done := 0; done < total; done++ {
		want := min(limit, total-done)
		h.wait(fmt.Sprintf("%d running workers", want), func() bool { return h.runningWorkers() == want })
		running := h.sub.running()
		for _, ref := range running {
			if ref.IsWorker() {
				h.sub.end(ref, core.PhaseSucceeded, false)
				h.waitPhase(ref.EventID, "", core.PhaseSucceeded)
				break
			}
		}
	}
	h.sub.mu.Lock()
	defer h.sub.mu.Unlock()
	return slices.Clone(h.sub.started)
}

func TestCapacity(t *testing.T) {
	t.Run("GlobalWorkerLimit", func(t *testing.T) {
		h := newHarness(t, Config{MaxWorkers: 2}, "p")
		h.send("p", 6)
		h.start()
		h.drainWorkers(6, 2)
		if h.sub.maxWorkers != 2 {
			t.Fatalf("at most %d workers ran at once, want 2", h.sub.maxWorkers)
		}
	})
	t.Run("PerProjectWorkerLimit", func(t *testing.T) {
		h := newHarness(t, Config{MaxWorkers: 8, MaxWorkersPerProject: 1}, "a", "b")
		h.send("a", 3)
		h.send("b", 3)
		h.start()
		h.drainWorkers(6, 2)
		if h.sub.maxPerProj["a"] != 1 || h.sub.maxPerProj["b"] != 1 || h.sub.maxWorkers != 2 {
			t.Fatalf("most workers at once: %d per project %v, want 1 per project and 2 in all", h.sub.maxWorkers, h.sub.maxPerProj)
		}
	})
	t.Run("AWorkerWaitingForCapacityStartsAfterJobsCame", func(t *testing.T) {
		// A job queued wakes the scheduler for jobs only; that pass must
		// not forget that a worker waits for capacity, which the first
		// worker's end then frees.
		h := newHarness(t, Config{MaxWorkers: 1}, "p")
		h.start()
		ids := h.send("p", 2)
		first, second := ids[0], ids[1]
		h.waitPhase(first, "", core.PhaseRunning)
		if err := h.createJob(first, "build"); err != nil {
			t.Fatal(err)
		}
		h.waitPhase(first, "build", core.PhaseRunning)
		if got := h.phase(second, ""); got != core.PhasePending {
			t.Fatalf("the second worker is %s while the first holds the only slot, want PENDING", got)
		}
		h.sub.end(core.WorkloadRef{EventID: first, Job: "build"}, core.PhaseSucceeded, false)
		h.waitPhase(first, "build", core.PhaseSucceeded)
		h.sub.end(core.WorkloadRef{EventID: first}, core.PhaseSucceeded, false)
		h.waitPhase(second, "", core.PhaseRunning)
	})
	t.Run("GlobalJobLimit", func(t *testing.T) {
		h := newHarness(t, Config{MaxJobs: 2}, "p")
		id := h.send("p", 1)[0]
		h.start()
		h.waitPhase(id, "", core.PhaseRunning)
		const n = 5
		for i := range n {
			if err := h.createJob(id, fmt.Sprintf("job%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		for done := 0; done < n; done++ {
			want := min(2, n-done)
			h.wait(fmt.Sprintf("%d running jobs", want), func() bool { return len(h.runningJobs(id)) == want })
			ref := h.runningJobs(id)[0]
			h.sub.end(ref, core.PhaseSucceeded, false)
			h.waitPhase(id, ref.Job, core.PhaseSucceeded)
		}
		if h.sub.maxJobs != 2 {
			t.Fatalf("at most %d jobs ran at once, want 2", h.sub.maxJobs)
		}
	})
	t.Run("FIFOWithinAProject", func(t *testing.T) {
		h := newHarness(t, Config{MaxWorkers: 1}, "p")
		ids := h.send("p", 10)
		h.start()
		started := h.drainWorkers(10, 1)
		for i, ref := range started {
			if ref.EventID != ids[i] {
				t.Fatalf("start %d was event %s, want %s (created %dth)", i, ref.EventID, ids[i], slices.Index(ids, ref.EventID))
			}
		}
	})
	t.Run("FairAcrossProjects", func(t *testing.T) {
		h := newHarness(t, Config{MaxWorkers: 1}, "busy", "quiet")
		var g errgroup.Group
		for range 10 {
			g.Go(func() error {
				h.send("busy", 100)
				return nil
			})
		}
		g.Wait()
		quiet := h.send("quiet", 1)[0]
		h.start()
		started := h.drainWorkers(3, 1)
		if !slices.ContainsFunc(started[:2], func(r core.WorkloadRef) bool { return r.EventID == quiet }) {
			t.Fatalf("the quiet project's one event was not among the first two starts %v: it waited behind 1,000 events of another project", started)
		}
	})
}

// waitDue waits until a put-back worker task is due at `at` (after the
// fake clock's now) and returns it.
func (h *harness) waitDue(after time.Time, at time.Time) {
	h.t.Helper()
	h.wait("a put-back task due at "+at.String(), func() bool {
		due, ok, err := h.store.Queue().NextDue(h.ctx, core.TaskWorker, after)
		if err != nil {
			h.t.Fatal(err)
		}
		return ok && due.Equal(at)
	})
}

func TestRetries(t *testing.T) {
	t.Run("DelayedTasksWithDifferentDueTimes", func(t *testing.T) {
		h := newHarness(t, Config{MaxAttempts: 3, RetryDelay: time.Second}, "a", "b")
		h.sub.failFirst["a"], h.sub.failFirst["b"] = 1, 1
		h.start()
		t0 := h.clock.Now()
		a := core.WorkloadRef{EventID: h.send("a", 1)[0]}
		h.waitDue(t0, t0.Add(time.Second))
		h.clock.Advance(500 * time.Millisecond)
		b := core.WorkloadRef{EventID: h.send("b", 1)[0]}
		h.waitDue(t0.Add(time.Second), t0.Add(1500*time.Millisecond))
		h.clock.Advance(500 * time.Millisecond)
		h.waitPhase(a.EventID, "", core.PhaseRunning)
		if n := h.sub.attemptsOf(b); n != 1 {
			t.Fatalf("b was tried %d times before its retry was due, want 1", n)
		}
		h.clock.Advance(500 * time.Millisecond)
		h.waitPhase(b.EventID, "", core.PhaseRunning)
		if na, nb := h.sub.attemptsOf(a), h.sub.attemptsOf(b); na != 2 || nb != 2 {
			t.Fatalf("attempts: a %d, b %d; want 2 each", na, nb)
		}
	})
	t.Run("RepeatedFailuresEndInSchedulingFailed", func(t *testing.T) {
		h := newHarness(t, Config{MaxAttempts: 3, RetryDelay: time.Second}, "doomed")
		h.sub.failFirst["doomed"] = 100
		h.start()
		ref := core.WorkloadRef{EventID: h.send("doomed", 1)[0]}
		for attempt := 1; attempt < 3; attempt++ {
			now := h.clock.Now()
			delay := time.Second << (attempt - 1)
			h.waitDue(now, now.Add(delay))
			h.clock.Advance(delay)
		}
		h.waitPhase(ref.EventID, "", core.PhaseSchedulingFailed)
		if n := h.sub.attemptsOf(ref); n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
		lines, err := h.store.Logs().Read(h.ctx, stream(ref), 0, 10)
		if err != nil || len(lines) != 3 ||
			!strings.Contains(lines[0].Message, "could not start this worker (attempt 1 of 3), trying again in 1s: ") ||
			!strings.Contains(lines[1].Message, "could not start this worker (attempt 2 of 3), trying again in 2s: ") ||
			!strings.Contains(lines[2].Message, "could not start this worker after 3 attempts: ") {
			t.Fatalf("worker log %v (%v), want each failed attempt and the reason it could not start", lines, err)
		}
		due, err := h.store.Cleanups().Due(h.ctx, h.clock.Now().Add(cleanupDelay), 10)
		if err != nil || len(due) != 1 || due[0].EventID != ref.EventID {
			t.Fatalf("cleanups due %v (%v), want the failed event's", due, err)
		}
	})
}

// workerToken reads the token the runner gave a worker from its event.json.
func (h *harness) workerToken(id string) string {
	h.t.Helper()
	h.sub.mu.Lock()
	doc := h.sub.docs[id]
	h.sub.mu.Unlock()
	var d core.EventDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		h.t.Fatalf("event.json of %s: %v", id, err)
	}
	return d.Worker.APIToken
}

// runningWithJobs runs one event whose worker created the jobs named, with
// room for one job at a time: the first runs, the others stay PENDING.
func runningWithJobs(t *testing.T, jobs ...string) (*harness, string) {
	t.Helper()
	h := newHarness(t, Config{MaxJobs: 1}, "p")
	h.start()
	id := h.send("p", 1)[0]
	h.waitPhase(id, "", core.PhaseRunning)
	for _, j := range jobs {
		if err := h.createJob(id, j); err != nil {
			t.Fatal(err)
		}
	}
	h.waitPhase(id, jobs[0], core.PhaseRunning)
	return h, id
}

func TestEndings(t *testing.T) {
	t.Run("CancelStopsTheWorkerAndItsJobs", func(t *testing.T) {
		h, id := runningWithJobs(t, "first", "second")
		if err := h.svc.CancelEvent(h.root(), id); err != nil {
			t.Fatal(err)
		}
		h.wait("the worker and its job stopped", func() bool { return len(h.sub.running()) == 0 })
		h.waitPhase(id, "", core.PhaseAborted)
		h.waitPhase(id, "first", core.PhaseAborted)
		h.waitPhase(id, "second", core.PhaseCanceled)
		if err := h.createJob(id, "late"); !core.IsConflict(err) {
			t.Fatalf("a job created after the cancel: %v, want a conflict", err)
		}
	})
	t.Run("WorkerEndAbortsItsJobsAndRefusesLateOnes", func(t *testing.T) {
		h, id := runningWithJobs(t, "running", "pending")
		h.sub.end(core.WorkloadRef{EventID: id}, core.PhaseSucceeded, false)
		h.waitPhase(id, "", core.PhaseSucceeded)
		h.waitPhase(id, "running", core.PhaseAborted)
		h.waitPhase(id, "pending", core.PhaseCanceled)
		h.wait("the orphaned job stopped", func() bool { return len(h.sub.running()) == 0 })
		if err := h.createJob(id, "late"); !core.IsConflict(err) {
			t.Fatalf("a job created after the worker ended: %v, want a conflict", err)
		}
		if n := h.sub.attemptsOf(core.WorkloadRef{EventID: id, Job: "pending"}); n != 0 {
			t.Fatalf("the pending job of a finished event was started %d times", n)
		}
	})
	t.Run("CleanupAfterTheGracePeriodRevokesTheToken", func(t *testing.T) {
		h := newHarness(t, Config{}, "p")
		h.start()
		id := h.send("p", 1)[0]
		h.waitPhase(id, "", core.PhaseRunning)
		token := h.workerToken(id)
		if p, err := h.svc.Authenticate(h.ctx, token); err != nil || !p.HasRole(auth.RoleWorker, id) {
			t.Fatalf("the worker's token while it runs: %v, %v", p, err)
		}
		h.sub.end(core.WorkloadRef{EventID: id}, core.PhaseSucceeded, false)
		h.waitPhase(id, "", core.PhaseSucceeded)
		h.clock.Advance(cleanupDelay - time.Second)
		if slices.Contains(h.sub.cleanedList(), id) {
			t.Fatal("cleaned up before the grace period ended")
		}
		h.clock.Advance(time.Second)
		h.wait("the event's cleanup done", func() bool {
			_, ok, err := h.store.Cleanups().Next(h.ctx)
			return err == nil && !ok
		})
		if !slices.Contains(h.sub.cleanedList(), id) {
			t.Fatal("the cleanup entry is gone but the substrate was not asked to clean up")
		}
		if _, err := h.svc.Authenticate(h.ctx, token); err == nil {
			t.Fatal("the worker's token still works after its event was cleaned up")
		}
	})
	t.Run("DeletingTheEventStopsTheWorkerAndItsJob", func(t *testing.T) {
		// A job's follower listens to its job, and hears of its event's
		// deletion on the worker's topic.
		h, id := runningWithJobs(t, "first")
		if err := h.svc.DeleteEvent(h.root(), id); err != nil {
			t.Fatal(err)
		}
		h.wait("the worker and its job stopped", func() bool { return len(h.sub.running()) == 0 })
	})
	t.Run("TimeoutStopsTheWorker", func(t *testing.T) {
		h := newHarness(t, Config{MaxWorkerLifetime: time.Hour}, "p")
		h.start()
		id := h.send("p", 1)[0]
		h.waitPhase(id, "", core.PhaseRunning)
		h.clock.Advance(time.Hour)
		h.waitPhase(id, "", core.PhaseTimedOut)
		h.wait("the worker stopped", func() bool { return len(h.sub.running()) == 0 })
	})
}

func TestRestart(t *testing.T) {
	h := newHarness(t, Config{}, "p")
	h.start()
	ids := h.send("p", 3)
	for _, id := range ids {
		h.waitPhase(id, "", core.PhaseRunning)
	}
	kept, lost, canceled := ids[0], ids[1], ids[2]
	h.stop()
	// While no runner runs: one worker vanishes from the substrate, one
	// event is canceled (nobody stops its workload yet).
	h.sub.mu.Lock()
	delete(h.sub.live, core.WorkloadRef{EventID: lost})
	h.sub.mu.Unlock()
	if err := h.svc.CancelEvent(h.root(), canceled); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.waitPhase(lost, "", core.PhaseAborted)
	h.wait("the canceled event's worker stopped", func() bool {
		return !slices.Contains(h.sub.running(), core.WorkloadRef{EventID: canceled})
	})
	if !slices.Contains(h.sub.running(), core.WorkloadRef{EventID: kept}) {
		t.Fatal("the running worker was not left running")
	}
	// The kept worker is followed again: its end is reported.
	h.sub.end(core.WorkloadRef{EventID: kept}, core.PhaseSucceeded, false)
	h.waitPhase(kept, "", core.PhaseSucceeded)
	lines, err := h.store.Logs().Read(h.ctx, stream(core.WorkloadRef{EventID: lost}), 0, 10)
	if err != nil || len(lines) == 0 || !strings.Contains(lines[0].Message, "the server restarted") {
		t.Fatalf("lost worker's log %v (%v), want the reason it was aborted", lines, err)
	}
}

// queued counts the tasks of a kind on the queue, leased or not.
func (h *harness) queued(kind core.TaskKind) int {
	h.t.Helper()
	n, err := h.store.Queue().Len(h.ctx, kind)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestTasks(t *testing.T) {
	t.Run("RunningIsReportedWithTheTaskAcknowledged", func(t *testing.T) {
		h := newHarness(t, Config{}, "p")
		h.start()
		id := h.send("p", 1)[0]
		h.waitPhase(id, "", core.PhaseRunning)
		if n := h.queued(core.TaskWorker); n != 0 {
			t.Fatalf("%d worker tasks queued once the worker is RUNNING, want 0", n)
		}
		if err := h.createJob(id, "build"); err != nil {
			t.Fatal(err)
		}
		h.waitPhase(id, "build", core.PhaseRunning)
		if n := h.queued(core.TaskJob); n != 0 {
			t.Fatalf("%d job tasks queued once the job is RUNNING, want 0", n)
		}
	})
	t.Run("AFailedStartIsPendingAgainWithItsTaskDue", func(t *testing.T) {
		h := newHarness(t, Config{MaxAttempts: 3, RetryDelay: time.Second}, "p")
		h.sub.failFirst["p"] = 1
		h.start()
		t0 := h.clock.Now()
		id := h.send("p", 1)[0]
		h.waitDue(t0, t0.Add(time.Second))
		if got := h.phase(id, ""); got != core.PhasePending {
			t.Fatalf("a worker whose start failed is %s while its retry waits, want PENDING", got)
		}
		if n := h.queued(core.TaskWorker); n != 1 {
			t.Fatalf("%d worker tasks queued while the retry waits, want 1", n)
		}
		h.clock.Advance(time.Second)
		h.waitPhase(id, "", core.PhaseRunning)
		if n := h.queued(core.TaskWorker); n != 0 {
			t.Fatalf("%d worker tasks queued once the retry runs, want 0", n)
		}
	})
	t.Run("ATaskWithNothingToStartIsAcknowledged", func(t *testing.T) {
		h := newHarness(t, Config{MaxWorkers: 1}, "p")
		h.start()
		ids := h.send("p", 3)
		h.waitPhase(ids[0], "", core.PhaseRunning)
		// The second event is canceled while its task waits for capacity;
		// the third's task, behind it, is taken only after it.
		if err := h.svc.CancelEvent(h.root(), ids[1]); err != nil {
			t.Fatal(err)
		}
		h.sub.end(core.WorkloadRef{EventID: ids[0]}, core.PhaseSucceeded, false)
		h.waitPhase(ids[2], "", core.PhaseRunning)
		if n := h.queued(core.TaskWorker); n != 0 {
			t.Fatalf("%d worker tasks queued, want 0: the canceled event's task was not acknowledged", n)
		}
		if n := h.sub.attemptsOf(core.WorkloadRef{EventID: ids[1]}); n != 0 {
			t.Fatalf("the canceled event's worker was started %d times", n)
		}
	})
}
