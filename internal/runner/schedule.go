package runner

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// schedule starts queued work within capacity until ctx ends. It wakes on
// queue commits, on freed capacity and when the next put-back task becomes
// due (a time the queue keeps per task); it never polls.
func (r *Runner) schedule(ctx context.Context) error {
	queue, cancel := r.store.Subscribe(core.TopicQueue)
	defer cancel()
	sctx := asScheduler(ctx)
	for {
		began := r.clock.Now()
		err := r.pass(sctx)
		if ctx.Err() != nil {
			return nil
		}
		var due time.Time
		if err != nil {
			r.log.Warn("scheduling pass failed; trying again", "error", err, "in", r.cfg.RetryDelay)
			due = r.clock.Now().Add(r.cfg.RetryDelay)
		} else if due, err = r.nextDue(ctx, began); err != nil {
			r.log.Warn("finding when put-back tasks are due; trying again", "error", err, "in", r.cfg.RetryDelay)
			due = r.clock.Now().Add(r.cfg.RetryDelay)
		}
		if !r.waitForChange(ctx, due, queue) {
			return nil
		}
	}
}

// waitForChange blocks until the queue or capacity changes, or the time
// due has come (never, when due is zero). It reports false when ctx ended.
func (r *Runner) waitForChange(ctx context.Context, due time.Time, queue <-chan struct{}) bool {
	var timerC <-chan time.Time
	if !due.IsZero() {
		t := r.clock.TimerAt(due)
		defer t.Stop()
		timerC = t.C()
	}
	select {
	case <-ctx.Done():
		return false
	case <-queue:
	case <-r.wake:
	case <-timerC:
	}
	return true
}

// nextDue is when the next task that waits for a time (a retry, an
// expiring lease) becomes leasable, or zero when none does. It counts tasks
// that became leasable after the pass began (at `began`), which the pass
// may have missed: their time is past, so the next pass comes at once.
// Tasks leasable before the pass began and not started wait for capacity,
// which wakes the scheduler by itself.
func (r *Runner) nextDue(ctx context.Context, began time.Time) (time.Time, error) {
	var next time.Time
	for _, kind := range []core.TaskKind{core.TaskJob, core.TaskWorker} {
		due, ok, err := r.store.Queue().NextDue(ctx, kind, began)
		if err != nil {
			return time.Time{}, err
		}
		if ok && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return next, nil
}

// pass starts as much as capacity allows, jobs first (they belong to
// workers that already hold capacity).
func (r *Runner) pass(ctx context.Context) error {
	for {
		workers, jobs, perProject := r.counts()
		progressed := false
		if jobs < r.cfg.MaxJobs {
			ok, err := r.startOne(ctx, core.TaskJob, nil)
			if err != nil {
				return err
			}
			progressed = ok
		}
		if workers < r.cfg.MaxWorkers {
			ok, err := r.startOne(ctx, core.TaskWorker, perProject)
			if err != nil {
				return err
			}
			progressed = progressed || ok
		}
		if !progressed {
			return nil
		}
	}
}

// startOne leases the oldest task of a kind from the next project in
// round-robin order that has one ready (and, for workers, is under its
// limit), and handles it. It reports whether it found a task.
func (r *Runner) startOne(ctx context.Context, kind core.TaskKind, perProject map[string]int) (bool, error) {
	projects, err := r.store.Queue().Ready(ctx, kind)
	if err != nil {
		return false, fmt.Errorf("listing projects with pending %s tasks: %w", kind, err)
	}
	if limit := r.cfg.MaxWorkersPerProject; kind == core.TaskWorker && limit > 0 {
		kept := projects[:0]
		for _, p := range projects {
			if perProject[p] < limit {
				kept = append(kept, p)
			}
		}
		projects = kept
	}
	for _, p := range r.roundRobin(kind, projects) {
		t, err := r.store.Queue().Lease(ctx, kind, p, r.cfg.LeaseTTL)
		if err != nil {
			return false, fmt.Errorf("leasing a %s task of project %s: %w", kind, p, err)
		}
		if t == nil {
			continue // taken meanwhile: try the next project
		}
		r.mu.Lock()
		r.cursor[kind] = p
		r.mu.Unlock()
		r.handle(ctx, t)
		return true, nil
	}
	return false, nil
}

// roundRobin orders projects so that the one after the project served last
// comes first: a project with a thousand queued events waits its turn like
// one with a single event.
func (r *Runner) roundRobin(kind core.TaskKind, projects []string) []string {
	sort.Strings(projects)
	r.mu.Lock()
	last := r.cursor[kind]
	r.mu.Unlock()
	i := sort.Search(len(projects), func(i int) bool { return projects[i] > last })
	return append(projects[i:len(projects):len(projects)], projects[:i]...)
}

// handle starts a leased task's worker or job, then acknowledges the task,
// puts it back with back-off, or gives up on it. Once the start was
// attempted, its bookkeeping finishes even if the runner is stopping.
func (r *Runner) handle(ctx context.Context, t *core.Task) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if t.Kind == core.TaskWorker {
		err = r.startWorker(ctx, t)
	} else {
		err = r.startJob(ctx, t)
	}
	switch {
	case err == nil:
		r.ack(ctx, t)
	case t.Attempts+1 >= r.cfg.MaxAttempts:
		r.fail(ctx, t, err)
		r.ack(ctx, t)
	default:
		delay := r.cfg.RetryDelay << t.Attempts
		r.log.Warn("start failed; will retry", "task", describe(t), "attempt", t.Attempts+1, "in", delay, "error", err)
		if nerr := r.store.Queue().Nack(ctx, t.ID, delay); nerr != nil {
			r.log.Error("could not put a task back; its lease will expire instead", "task", describe(t), "error", nerr)
		}
	}
}

func (r *Runner) ack(ctx context.Context, t *core.Task) {
	if err := r.store.Queue().Ack(ctx, t.ID); err != nil && !core.IsNotFound(err) {
		r.log.Error("acknowledging a task", "task", describe(t), "error", err)
	}
}

// startWorker moves the worker to STARTING, launches it and follows it. A
// worker that is no longer PENDING (canceled, deleted, started already)
// needs nothing and is not an error.
func (r *Runner) startWorker(ctx context.Context, t *core.Task) error {
	launch, err := r.svc.StartWorker(ctx, t.EventID)
	if core.IsNotFound(err) || core.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("moving the worker to STARTING: %w", err)
	}
	ref := core.WorkloadRef{EventID: t.EventID}
	w, ok := r.hold(ref, t.ProjectID)
	if !ok {
		return nil // followed already (a lease that expired mid-start)
	}
	launch.Command = r.cfg.WorkerCommand
	started, err := r.sub.StartWorker(ctx, launch)
	if err != nil {
		r.release(w)
		// Back to PENDING so that a retry can start it; a cancel that came
		// meanwhile stands.
		if rerr := r.svc.UpdateWorkerStatus(asObserver(ctx), t.EventID,
			core.WorkerStatus{Phase: core.PhasePending}); !ignorable(rerr) {
			r.log.Error("returning a worker to PENDING after a failed start", "event", t.EventID, "error", rerr)
		}
		return fmt.Errorf("starting the worker on the %s substrate: %w", r.sub.Name(), err)
	}
	r.follow(w, started, lifetime(launch.Event.Worker.Spec.TimeoutDuration, r.cfg.MaxWorkerLifetime), true)
	return nil
}

// startJob moves a job to STARTING, launches it and follows it.
func (r *Runner) startJob(ctx context.Context, t *core.Task) error {
	launch, err := r.svc.StartJob(ctx, t.EventID, t.JobName)
	if core.IsNotFound(err) || core.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("moving the job to STARTING: %w", err)
	}
	ref := core.WorkloadRef{EventID: t.EventID, Job: t.JobName}
	w, ok := r.hold(ref, t.ProjectID)
	if !ok {
		return nil
	}
	started, err := r.sub.StartJob(ctx, launch)
	if err != nil {
		r.release(w)
		if rerr := r.svc.UpdateJobStatus(asObserver(ctx), t.EventID, t.JobName,
			core.JobStatus{Phase: core.PhasePending}); !ignorable(rerr) {
			r.log.Error("returning a job to PENDING after a failed start", "event", t.EventID, "job", t.JobName, "error", rerr)
		}
		return fmt.Errorf("starting the job on the %s substrate: %w", r.sub.Name(), err)
	}
	r.follow(w, started, lifetime(launch.Job.Spec.TimeoutDuration, r.cfg.MaxJobLifetime), true)
	return nil
}

// lifetime is a workload's timeout: its spec's duration, capped at max.
func lifetime(spec string, max time.Duration) time.Duration {
	if spec == "" {
		return max
	}
	d, err := time.ParseDuration(spec)
	if err != nil || d <= 0 || d > max {
		return max
	}
	return d
}

// fail gives up on a task: its worker or job becomes SCHEDULING_FAILED and
// the reason goes into its log, where users look first.
func (r *Runner) fail(ctx context.Context, t *core.Task, cause error) {
	r.log.Error("giving up on a task", "task", describe(t), "attempts", t.Attempts+1, "error", cause)
	ref := core.WorkloadRef{EventID: t.EventID, Job: t.JobName}
	r.note(ctx, ref, fmt.Sprintf("[brigade] could not start this %s after %d attempts: %v", t.Kind, t.Attempts+1, cause))
	r.closeLog(ctx, ref)
	now := r.clock.Now().UTC()
	obs := asObserver(ctx)
	var err error
	if t.Kind == core.TaskWorker {
		err = r.svc.UpdateWorkerStatus(obs, t.EventID, core.WorkerStatus{Phase: core.PhaseSchedulingFailed, Ended: &now})
	} else {
		err = r.svc.UpdateJobStatus(obs, t.EventID, t.JobName, core.JobStatus{Phase: core.PhaseSchedulingFailed, Ended: &now})
	}
	if !ignorable(err) {
		r.log.Error("marking a task SCHEDULING_FAILED", "task", describe(t), "error", err)
	}
}

func describe(t *core.Task) string {
	if t.Kind == core.TaskJob {
		return fmt.Sprintf("job %s of event %s", t.JobName, t.EventID)
	}
	return "worker of event " + t.EventID
}
