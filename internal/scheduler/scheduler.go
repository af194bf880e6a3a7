// Package scheduler starts queued workers and jobs within capacity: FIFO
// inside a project, a fair random choice among projects with pending work,
// global limits on running workers and jobs, and an optional per-project
// limit. It reacts to queue and capacity changes as they happen (store
// notifications and in-process signals), never on a polling timer.
//
// It never loses a task: a task is acknowledged only once its worker or job
// has started, or has been given a terminal phase (SCHEDULING_FAILED with
// the reason in its log) after repeated failures; a crash before that leaves
// the lease to expire and the task to be leased again.
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// Config sets the limits.
type Config struct {
	MaxWorkers        int           // running workers at once (default 8)
	MaxJobs           int           // running jobs at once (default 32)
	MaxWorkersPerProj int           // 0: no per-project limit
	LeaseTTL          time.Duration // how long a task stays leased (default 1m)
	MaxAttempts       int           // failed starts before SCHEDULING_FAILED (default 3)
	RetryDelay        time.Duration // base delay before a failed start is retried (default 1s)
}

func (c *Config) defaults() {
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = 8
	}
	if c.MaxJobs <= 0 {
		c.MaxJobs = 32
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
}

// Counter reports how many workers and jobs run now (the substrate).
type Counter interface {
	Running(ctx context.Context) (workers, jobs int, err error)
}

// Scheduler is the single active scheduler of a server.
type Scheduler struct {
	cfg     Config
	svc     *api.Service
	store   core.Store
	counter Counter
	log     *slog.Logger
	wake    chan struct{}

	mu         sync.Mutex
	perProject map[string]int // workers started and not yet finished, by project
	byEvent    map[string]string
	retryAt    time.Time // earliest time a put-back task becomes due
}

// New builds a scheduler.
func New(cfg Config, svc *api.Service, counter Counter, log *slog.Logger) *Scheduler {
	cfg.defaults()
	return &Scheduler{cfg: cfg, svc: svc, store: svc.Store(), counter: counter, log: log,
		wake: make(chan struct{}, 1), perProject: map[string]int{}, byEvent: map[string]string{}}
}

// Wake tells the scheduler that capacity may have been freed.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// WorkerFinished releases a worker's per-project slot.
func (s *Scheduler) WorkerFinished(eventID string) {
	s.mu.Lock()
	if p, ok := s.byEvent[eventID]; ok {
		delete(s.byEvent, eventID)
		if s.perProject[p]--; s.perProject[p] <= 0 {
			delete(s.perProject, p)
		}
	}
	s.mu.Unlock()
	s.Wake()
}

// Run schedules until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	queue, cancel := s.store.Subscribe(core.TopicQueue)
	defer cancel()
	// Leases, acks and the phase changes of starting work are the
	// platform's own bookkeeping: they need not wait for the disk.
	ctx = core.Relaxed(auth.With(ctx, auth.Scheduler()))
	var retry *time.Timer
	for {
		next, err := s.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.log.Warn("scheduling pass failed; retrying", "error", err)
			next = time.Second
		}
		var retryC <-chan time.Time
		if next > 0 {
			if retry == nil {
				retry = time.NewTimer(next)
			} else {
				retry.Reset(next)
			}
			retryC = retry.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-queue:
		case <-s.wake:
		case <-retryC:
		}
	}
}

// pass starts as much as capacity allows. It returns when nothing more can
// start now, with a delay after which delayed (Nacked) tasks become due.
func (s *Scheduler) pass(ctx context.Context) (time.Duration, error) {
	for {
		workers, jobs, err := s.counter.Running(ctx)
		if err != nil {
			return 0, fmt.Errorf("counting running work: %w", err)
		}
		progressed := false
		// Jobs first: they belong to workers that already hold capacity.
		if jobs < s.cfg.MaxJobs {
			ok, err := s.startOne(ctx, core.TaskJob)
			if err != nil {
				return 0, err
			}
			progressed = progressed || ok
		}
		if workers < s.cfg.MaxWorkers {
			ok, err := s.startOne(ctx, core.TaskWorker)
			if err != nil {
				return 0, err
			}
			progressed = progressed || ok
		}
		if !progressed {
			return s.nextRetry(), nil
		}
	}
}

// startOne leases one task of a kind from a random ready project and
// handles it. It reports whether it found a task.
func (s *Scheduler) startOne(ctx context.Context, kind core.TaskKind) (bool, error) {
	projects, err := s.store.Queue().Ready(ctx, kind)
	if err != nil {
		return false, fmt.Errorf("listing projects with pending %s tasks: %w", kind, err)
	}
	if kind == core.TaskWorker && s.cfg.MaxWorkersPerProj > 0 {
		projects = s.underProjectLimit(projects)
	}
	for len(projects) > 0 {
		i := rand.IntN(len(projects))
		t, err := s.store.Queue().Lease(ctx, kind, projects[i], s.cfg.LeaseTTL)
		if err != nil {
			return false, fmt.Errorf("leasing a %s task of project %s: %w", kind, projects[i], err)
		}
		if t == nil { // another lease got it: try the others
			projects = append(projects[:i], projects[i+1:]...)
			continue
		}
		s.handle(ctx, t)
		return true, nil
	}
	return false, nil
}

func (s *Scheduler) underProjectLimit(projects []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := projects[:0:0]
	for _, p := range projects {
		if s.perProject[p] < s.cfg.MaxWorkersPerProj {
			out = append(out, p)
		}
	}
	return out
}

// handle starts a leased task's worker or job and acknowledges it. Once
// the start was attempted, its bookkeeping is finished even if the
// scheduler is being stopped.
func (s *Scheduler) handle(ctx context.Context, t *core.Task) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if t.Kind == core.TaskWorker {
		s.reserve(t)
		err = s.svc.StartWorker(ctx, t.EventID)
		if err != nil {
			s.WorkerFinished(t.EventID)
		}
	} else {
		err = s.svc.StartJob(ctx, t.EventID, t.JobName)
	}
	switch {
	case err == nil:
		s.ack(ctx, t)
	case core.IsNotFound(err) || core.IsConflict(err):
		// Deleted, canceled or started already: nothing left to do.
		s.ack(ctx, t)
	case t.Attempts+1 >= s.cfg.MaxAttempts:
		s.fail(ctx, t, err)
		s.ack(ctx, t)
	default:
		delay := s.cfg.RetryDelay << t.Attempts
		s.log.Warn("start failed; will retry", "task", describe(t), "attempt", t.Attempts+1, "in", delay, "error", err)
		if nerr := s.store.Queue().Nack(ctx, t.ID, delay); nerr != nil {
			s.log.Error("could not put a task back; its lease will expire instead", "task", describe(t), "error", nerr)
		}
		// Due only once the Nack committed: the task is leasable by then
		// (the store stamped it with an earlier clock reading).
		s.mu.Lock()
		if due := time.Now().Add(delay); s.retryAt.IsZero() || due.Before(s.retryAt) {
			s.retryAt = due
		}
		s.mu.Unlock()
	}
}

// nextRetry is how long until a put-back task is due (0: none is waiting,
// so only notifications wake the scheduler).
func (s *Scheduler) nextRetry() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retryAt.IsZero() {
		return 0
	}
	d := time.Until(s.retryAt)
	if d <= 0 {
		s.retryAt = time.Time{}
		return time.Millisecond
	}
	return d
}

func (s *Scheduler) reserve(t *core.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byEvent[t.EventID]; !ok {
		s.byEvent[t.EventID] = t.ProjectID
		s.perProject[t.ProjectID]++
	}
}

func (s *Scheduler) ack(ctx context.Context, t *core.Task) {
	if err := s.store.Queue().Ack(ctx, t.ID); err != nil && !core.IsNotFound(err) {
		s.log.Error("acknowledging a task", "task", describe(t), "error", err)
	}
}

// fail gives up on a task: its worker or job becomes SCHEDULING_FAILED and
// the reason goes into its log, where users look first.
func (s *Scheduler) fail(ctx context.Context, t *core.Task, cause error) {
	s.log.Error("giving up on a task", "task", describe(t), "attempts", t.Attempts+1, "error", cause)
	now := time.Now().UTC()
	stream := core.LogStream{EventID: t.EventID, Container: api.ContainerWorker}
	if t.Kind == core.TaskJob {
		stream = core.LogStream{EventID: t.EventID, Job: t.JobName, Container: t.JobName}
	}
	msg := fmt.Sprintf("[brigade] could not start this %s after %d attempts: %v", t.Kind, t.Attempts+1, cause)
	if err := s.store.Logs().Append(ctx, stream, []core.LogEntry{{Time: &now, Message: msg}}); err != nil {
		s.log.Warn("writing scheduling failure to the log", "error", err)
	}
	s.store.Logs().Close(ctx, stream)
	obs := auth.With(ctx, auth.Observer())
	var err error
	if t.Kind == core.TaskWorker {
		err = s.svc.UpdateWorkerStatus(obs, t.EventID, core.WorkerStatus{Phase: core.PhaseSchedulingFailed, Ended: &now})
	} else {
		err = s.svc.UpdateJobStatus(obs, t.EventID, t.JobName, core.JobStatus{Phase: core.PhaseSchedulingFailed, Ended: &now})
	}
	if err != nil && !core.IsConflict(err) && !core.IsNotFound(err) {
		s.log.Error("marking a task SCHEDULING_FAILED", "task", describe(t), "error", err)
	}
}

func describe(t *core.Task) string {
	if t.Kind == core.TaskJob {
		return fmt.Sprintf("job %s of event %s", t.JobName, t.EventID)
	}
	return "worker of event " + t.EventID
}
