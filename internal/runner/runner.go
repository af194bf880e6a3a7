// Package runner owns running work. It is the one place that takes a
// queued task to a running workload on the substrate and follows it to its
// end:
//
//   - scheduling (schedule.go): leases worker and job tasks from the queue
//     within capacity (global worker and job limits, an optional
//     per-project worker limit), FIFO inside a project and round-robin
//     across projects; a start that fails is put back on the queue with
//     back-off (each task keeps its own due time, in the queue) and ends
//     SCHEDULING_FAILED after MaxAttempts;
//   - following (follow.go): reports RUNNING, then the outcome the
//     substrate reports; enforces timeouts; stops a workload as soon as the
//     store says it is over (canceled, its event finished or deleted);
//   - cleanup (cleanup.go): removes what finished and deleted events left on
//     the substrate when their durable cleanup entry is due, and revokes the
//     worker's token;
//   - reconciling (reconcile.go): after a restart, re-attaches to workloads
//     the substrate still runs and finishes those it lost.
//
// State changes go through the API service as the scheduler and observer
// principals, exactly as a remote scheduler or observer would make them;
// the service never calls back into the runner. Everything it starts ends
// when Run returns.
package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/clock"
	"github.com/brigadeplatform/brigade/internal/core"
)

// Config tunes the runner. Zero values get the defaults named.
type Config struct {
	MaxWorkers           int           // running workers at once (default 8)
	MaxJobs              int           // running jobs at once (default 32)
	MaxWorkersPerProject int           // 0: no per-project limit
	LeaseTTL             time.Duration // how long a task stays leased while it starts (default 1m)
	MaxAttempts          int           // failed starts before SCHEDULING_FAILED (default 3)
	RetryDelay           time.Duration // first back-off after a failed start, doubled each time (default 1s)
	MaxRetryDelay        time.Duration // the longest back-off after a failed start (default 1m)
	// Jitter spreads a failed start's back-off (default: a random point in
	// its upper half), so that tasks that failed together are not retried
	// together.
	Jitter func(time.Duration) time.Duration

	// BackoffMin and BackoffMax bound the waits between attempts of the
	// runner's own reads and reports when the store or the substrate fails
	// (disk full, database locked, daemon unreachable): the wait doubles
	// from BackoffMin up to BackoffMax, jittered (defaults 100ms and 15s,
	// wall-clock time).
	BackoffMin time.Duration
	BackoffMax time.Duration

	// WorkerCommand runs a worker (e.g. [/usr/bin/brigade, worker]).
	WorkerCommand []string
	// MaxWorkerLifetime and MaxJobLifetime cap timeouts (default 24h).
	MaxWorkerLifetime time.Duration
	MaxJobLifetime    time.Duration
	// StopGrace is how long a stopped workload has between SIGTERM and
	// SIGKILL, or the substrate's equivalent (default 5s).
	StopGrace time.Duration
	// CleanupRetry is how long a failed cleanup waits before it is tried
	// again (default 30s).
	CleanupRetry time.Duration

	// Clock is the runner's time (default the wall clock). The store's
	// queue must use the same clock.
	Clock clock.Clock

	// Idle, if set, is called once nothing has run for IdleAfter (default
	// 2s, wall-clock time), and again after each later busy spell: the
	// server returns memory to the system then.
	Idle      func()
	IdleAfter time.Duration

	// Metrics is told of leases and starts (nil: nothing; metrics.go).
	Metrics Metrics
}

func (c *Config) defaults() {
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = 8
	}
	if c.MaxJobs <= 0 {
		c.MaxJobs = 32
	}
	if c.IdleAfter <= 0 {
		c.IdleAfter = 2 * time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.MaxRetryDelay <= 0 {
		c.MaxRetryDelay = time.Minute
	}
	if c.Jitter == nil {
		c.Jitter = jitter
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(15*time.Second, c.BackoffMin)
	}
	if c.MaxWorkerLifetime <= 0 {
		c.MaxWorkerLifetime = 24 * time.Hour
	}
	if c.MaxJobLifetime <= 0 {
		c.MaxJobLifetime = 24 * time.Hour
	}
	if c.StopGrace <= 0 {
		c.StopGrace = 5 * time.Second
	}
	if c.CleanupRetry <= 0 {
		c.CleanupRetry = 30 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Metrics == nil {
		c.Metrics = noMetrics{}
	}
}

// Runner runs events' workers and jobs on one substrate.
type Runner struct {
	cfg   Config
	svc   *api.Service
	store core.Store
	sub   core.Substrate
	log   *slog.Logger
	clock clock.Clock
	wake  chan struct{} // capacity was freed
	// dueStale says that a task may have come to wait for a time (put back
	// with a delay, or left leased) since the scheduler last asked the
	// queue when the next one is due; dueChanged wakes the scheduler once
	// it is set (see waiting).
	dueStale   atomic.Bool
	dueChanged chan struct{}
	faults     atomic.Int64 // failures met and retried (see Faults)

	mu     sync.Mutex
	ctx    context.Context // Run's, for followers
	live   map[core.WorkloadRef]*workload
	cursor map[core.TaskKind]string // the project served last, for round-robin
	wg     sync.WaitGroup           // followers
	idle   *time.Timer              // calls Config.Idle; armed while nothing runs
	ended  bool                     // Run returned: Idle is not called again
}

// workload is one worker or job the runner holds capacity for, from the
// moment it starts starting until its outcome is reported.
type workload struct {
	ref     core.WorkloadRef
	project string
}

// New builds a runner. The store is the one the service uses; the runner
// reads state from it, and writes its own bookkeeping (log notes, cleanup
// entries), while every phase change goes through svc.
func New(cfg Config, svc *api.Service, store core.Store, sub core.Substrate, log *slog.Logger) *Runner {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, svc: svc, store: store, sub: sub, log: log, clock: cfg.Clock,
		wake: make(chan struct{}, 1), dueChanged: make(chan struct{}, 1), live: map[core.WorkloadRef]*workload{}, cursor: map[core.TaskKind]string{}}
}

// Run reconciles what a previous run left, then schedules, follows and
// cleans up until ctx ends. It returns once every goroutine it started has
// ended; workloads keep running on the substrate (the next Run re-attaches
// to those it can).
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
	// Nothing new starts before what the previous run left is known: a
	// store or substrate that fails now is asked again, with back-off, for
	// as long as it takes (each pass is idempotent).
	if err := r.persist(ctx, "reconciling work left by a previous run", func() error {
		return r.reconcile(ctx)
	}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		r.log.Error("reconciling work left by a previous run", "error", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.schedule(gctx) })
	g.Go(func() error { return r.cleanups(gctx) })
	err := g.Wait()
	r.wg.Wait()
	r.mu.Lock()
	r.ended = true
	if r.idle != nil {
		r.idle.Stop()
	}
	r.mu.Unlock()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func (r *Runner) runCtx() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctx
}

// asScheduler and asObserver act as the built-in principals. What they
// write is the platform's own bookkeeping, committed without waiting for
// the disk (core.Relaxed): a machine crash loses at most the latest of it,
// and the next start reconciles.
func asScheduler(ctx context.Context) context.Context {
	return core.Relaxed(auth.With(ctx, auth.Scheduler()))
}

func asObserver(ctx context.Context) context.Context {
	return core.Relaxed(auth.With(ctx, auth.Observer()))
}

// hold reserves capacity for a workload; it reports false if the runner
// already follows it.
func (r *Runner) hold(ref core.WorkloadRef, project string) (*workload, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.live[ref]; ok {
		return nil, false
	}
	w := &workload{ref: ref, project: project}
	r.live[ref] = w
	if r.idle != nil {
		r.idle.Stop()
	}
	return w, true
}

// waiting tells the scheduler, after the fact, that a task may now wait
// for a time: it was put back with a delay, or stays leased because its
// acknowledgement failed. The queue's own notification of such a change
// may wake the scheduler before this is known, so this wakes it again.
func (r *Runner) waiting() {
	r.dueStale.Store(true)
	select {
	case r.dueChanged <- struct{}{}:
	default:
	}
}

// release frees a workload's capacity and wakes scheduling.
func (r *Runner) release(w *workload) {
	r.mu.Lock()
	if r.live[w.ref] == w {
		delete(r.live, w.ref)
	}
	r.armIdle()
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// armIdle (r.mu held) schedules Config.Idle for IdleAfter from now when
// nothing runs, putting off one already scheduled: after the last
// workload ends, and after each round of cleanups, whose garbage and
// store caches the idle trim is also for.
func (r *Runner) armIdle() {
	if len(r.live) != 0 || r.cfg.Idle == nil || r.ended {
		return
	}
	if r.idle == nil {
		r.idle = time.AfterFunc(r.cfg.IdleAfter, r.onIdle)
	} else {
		r.idle.Reset(r.cfg.IdleAfter)
	}
}

// counts returns the workers and jobs held, and the workers held by project.
func (r *Runner) counts() (workers, jobs int, perProject map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	perProject = map[string]int{}
	for ref, w := range r.live {
		if ref.IsWorker() {
			workers++
			perProject[w.project]++
		} else {
			jobs++
		}
	}
	return workers, jobs, perProject
}

// note writes one line of ours into a workload's log.
func (r *Runner) note(ctx context.Context, ref core.WorkloadRef, msg string) {
	now := r.clock.Now().UTC()
	if err := r.store.Logs().Append(core.Relaxed(ctx), stream(ref), []core.LogEntry{{Time: &now, Message: msg}}); err != nil {
		r.log.Warn("writing to a workload's log", "workload", ref.String(), "error", err)
	}
}

// closeLog marks a workload's log complete (nothing more will come).
func (r *Runner) closeLog(ctx context.Context, ref core.WorkloadRef) {
	if err := r.store.Logs().Close(core.Relaxed(ctx), stream(ref)); err != nil && !core.IsNotFound(err) {
		r.log.Warn("closing a workload's log", "workload", ref.String(), "error", err)
	}
}

func stream(ref core.WorkloadRef) core.LogStream {
	if ref.IsWorker() {
		return core.LogStream{EventID: ref.EventID, Container: api.ContainerWorker}
	}
	return core.LogStream{EventID: ref.EventID, Job: ref.Job, Container: ref.Job}
}

// ignorable are the answers a report may get when someone else moved
// first (the workload was canceled, timed out, or deleted).
func ignorable(err error) bool {
	return err == nil || core.IsConflict(err) || core.IsNotFound(err)
}

// onIdle calls Config.Idle unless work started meanwhile.
func (r *Runner) onIdle() {
	r.mu.Lock()
	quiet := len(r.live) == 0 && !r.ended
	r.mu.Unlock()
	if quiet {
		r.cfg.Idle()
	}
}
