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
// due (a time the queue keeps per task); it never polls. A task queued
// wakes it for its own kind only: a job created does not make it look for
// workers.
func (r *Runner) schedule(ctx context.Context) error {
	jobsQueued, cancelJobs := r.store.Subscribe(core.TopicQueueOf(core.TaskJob))
	defer cancelJobs()
	workersQueued, cancelWorkers := r.store.Subscribe(core.TopicQueueOf(core.TaskWorker))
	defer cancelWorkers()
	queued := queueChanges{jobs: jobsQueued, workers: workersQueued}
	sctx := asScheduler(ctx)
	r.dueStale.Store(true) // a previous run may have left tasks waiting
	var due time.Time      // when the next waiting task is due, as last asked
	failures := 0          // passes in a row that failed (the store did)
	ask := allKinds        // the kinds the next pass looks at
	var blocked kinds      // kinds whose work may wait for capacity, as last looked at
	for {
		began := r.clock.Now()
		b, err := r.pass(sctx, ask)
		if ctx.Err() != nil {
			return nil
		}
		blocked = blocked.update(ask, b)
		if err == nil && (r.dueStale.Swap(false) || (!due.IsZero() && !r.clock.Now().Before(due))) {
			// Asked again only when a task may have come to wait for a
			// time, or the one it knew of is due: most passes (a task
			// queued, started, acknowledged) change no due time.
			if due, err = r.nextDue(ctx, began); err != nil {
				err = fmt.Errorf("finding when put-back tasks are due: %w", err)
				r.dueStale.Store(true)
			}
		}
		var retry <-chan time.Time
		if err != nil {
			failures++
			wait := backoff(failures, r.cfg.BackoffMin, r.cfg.BackoffMax)
			r.log.Warn("scheduling pass failed; trying again", "error", err, "attempt", failures, "in", wait)
			r.faulted()
			t := time.NewTimer(wait)
			retry = t.C
			_, ok := r.waitForChange(ctx, due, queued, false, retry)
			t.Stop()
			if !ok {
				return nil
			}
			ask = allKinds // after a failure, every kind is looked at again
			continue
		}
		failures = 0
		var ok bool
		if ask, ok = r.waitForChange(ctx, due, queued, blocked.any(), nil); !ok {
			return nil
		}
	}
}

// kinds is a set of task kinds.
type kinds struct{ jobs, workers bool }

var allKinds = kinds{jobs: true, workers: true}

func (k kinds) any() bool { return k.jobs || k.workers }

// update takes what a pass that looked at the kinds of asked found.
func (k kinds) update(asked, found kinds) kinds {
	if asked.jobs {
		k.jobs = found.jobs
	}
	if asked.workers {
		k.workers = found.workers
	}
	return k
}

// queueChanges are the scheduler's subscriptions to tasks queued, per kind.
type queueChanges struct{ jobs, workers <-chan struct{} }

// queuedToo adds to ask the kinds whose tasks were queued too (their
// notification is pending), so that one pass looks at both.
func (q queueChanges) queuedToo(ask kinds) kinds {
	select {
	case <-q.jobs:
		ask.jobs = true
	default:
	}
	select {
	case <-q.workers:
		ask.workers = true
	default:
	}
	return ask
}

// waitForChange blocks until tasks are queued (it returns their kinds to
// look at), capacity is freed while work may wait for it (blocked), the
// time due has come (never, when due is zero) or retry fires (after a
// failed pass; a failed pass waits for nothing else but the queue). It
// returns the kinds the next pass looks at, and false when ctx ended.
func (r *Runner) waitForChange(ctx context.Context, due time.Time, queued queueChanges, blocked bool, retry <-chan time.Time) (kinds, bool) {
	var timerC <-chan time.Time
	if !due.IsZero() && retry == nil {
		t := r.clock.TimerAt(due)
		defer t.Stop()
		timerC = t.C()
	}
	for {
		select {
		case <-ctx.Done():
			return kinds{}, false
		case <-queued.jobs:
			if retry == nil {
				return queued.queuedToo(kinds{jobs: true}), true
			}
			// After a failure, the retry's wait stands: a busy queue
			// must not turn the back-off into a tight loop.
		case <-queued.workers:
			if retry == nil {
				return queued.queuedToo(kinds{workers: true}), true
			}
		case <-retry:
			return allKinds, true
		case <-r.wake:
			if blocked {
				return allKinds, true
			}
			// Nothing waits for capacity: a pass would find nothing.
		case <-timerC:
			return allKinds, true
		case <-r.dueChanged:
			if retry == nil {
				return allKinds, true
			}
		}
	}
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

// maxJobsPerTake bounds how many job tasks one transaction leases.
const maxJobsPerTake = 16

// pass starts as much as capacity allows of the kinds in ask, jobs first
// (they belong to workers that already hold capacity). A kind that had
// nothing ready is not asked again in the same pass: a task queued since
// wakes the scheduler anew. It reports the kinds whose work may be left
// waiting for capacity (the kind was at its limit, or a project at its
// own), which freed capacity starts.
func (r *Runner) pass(ctx context.Context, ask kinds) (blocked kinds, err error) {
	jobsDone, workersDone := !ask.jobs, !ask.workers
	for !jobsDone || !workersDone {
		workers, jobs, perProject := r.counts()
		if !jobsDone {
			if jobs >= r.cfg.MaxJobs {
				jobsDone, blocked.jobs = true, true
			} else {
				// Jobs are taken several at a time (a fan-out's jobs in one
				// transaction); workers one at a time, to keep their
				// round-robin and per-project limits exact.
				more, _, err := r.startOne(ctx, core.TaskJob, nil, min(r.cfg.MaxJobs-jobs, maxJobsPerTake))
				if err != nil {
					return allKinds, err
				}
				jobsDone = !more
			}
		}
		if !workersDone {
			if workers >= r.cfg.MaxWorkers {
				workersDone, blocked.workers = true, true
			} else {
				more, limited, err := r.startOne(ctx, core.TaskWorker, perProject, 1)
				if err != nil {
					return allKinds, err
				}
				workersDone, blocked.workers = !more, blocked.workers || limited
			}
		}
	}
	return blocked, nil
}

// startOne takes the oldest tasks of a kind, up to n, from the next project
// in round-robin order that has one ready (and, for workers, is under its
// limit), and starts them. It reports whether tasks of the kind may be
// left ready (it found some, unless it took fewer than n from the only
// project that had any), and whether projects with ready tasks were passed
// over for their limit. A task queued after the look at the ready projects
// wakes the scheduler anew.
func (r *Runner) startOne(ctx context.Context, kind core.TaskKind, perProject map[string]int, n int) (more, limited bool, err error) {
	projects, err := r.store.Queue().Ready(ctx, kind)
	if err != nil {
		return false, false, fmt.Errorf("listing projects with pending %s tasks: %w", kind, err)
	}
	if limit := r.cfg.MaxWorkersPerProject; kind == core.TaskWorker && limit > 0 {
		kept := projects[:0]
		for _, p := range projects {
			if perProject[p] < limit {
				kept = append(kept, p)
			}
		}
		limited = len(kept) < len(projects)
		projects = kept
	}
	for _, p := range r.roundRobin(kind, projects) {
		starts, err := r.take(ctx, kind, p, n)
		if err != nil {
			return false, limited, fmt.Errorf("taking a %s task of project %s: %w", kind, p, err)
		}
		if len(starts) == 0 {
			continue // taken meanwhile: try the next project
		}
		r.mu.Lock()
		r.cursor[kind] = p
		r.mu.Unlock()
		for _, s := range starts {
			r.launch(ctx, s)
		}
		// The project had fewer than n: it has none left, and no other
		// had any when Ready looked.
		drained := len(starts) < n && len(projects) == 1
		return !drained, limited, nil
	}
	return false, limited, nil
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

// start is a task taken from the queue and what came of moving its worker
// or job to STARTING.
type start struct {
	task   *core.Task
	worker *core.WorkerLaunch // set when the worker is STARTING
	job    *core.JobLaunch    // set when the job is STARTING
	err    error              // the move failed: a failed start, retried
	// done: there was nothing to start (canceled, deleted, started
	// already), and the task is acknowledged.
	done bool
}

// take leases the oldest ready tasks of a kind in a project, up to n, and
// moves their workers or jobs to STARTING through the service, in one
// transaction: a crash leaves either both or neither, and the next start
// reconciles a STARTING workload the substrate does not have. A task with
// nothing to start is acknowledged in the same transaction. It returns
// nothing when the project has no ready task.
func (r *Runner) take(ctx context.Context, kind core.TaskKind, project string, n int) ([]*start, error) {
	var starts []*start
	err := r.store.Tx(ctx, func(ctx context.Context) error {
		starts = starts[:0] // fn runs again if its batch is retried
		for range n {
			t, err := r.store.Queue().Lease(ctx, kind, project, r.cfg.LeaseTTL)
			if err != nil || t == nil {
				return err
			}
			s := &start{task: t}
			starts = append(starts, s)
			if kind == core.TaskWorker {
				s.worker, err = r.svc.StartWorker(ctx, t.EventID)
			} else {
				s.job, err = r.svc.StartJob(ctx, t.EventID, t.JobName)
			}
			switch {
			case core.IsNotFound(err) || core.IsConflict(err):
				s.worker, s.job, s.done = nil, nil, true
				if err := ignoreNotFound(r.store.Queue().Ack(ctx, t.ID)); err != nil {
					return err
				}
			case err != nil:
				// The service rolled its part back; the lease stands and
				// the task is retried like any failed start.
				s.worker, s.job = nil, nil
				s.err = fmt.Errorf("moving the %s to STARTING: %w", kind, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.cfg.Metrics.Leased(kind, len(starts))
	return starts, nil
}

func ignoreNotFound(err error) error {
	if core.IsNotFound(err) {
		return nil
	}
	return err
}

// launch starts what take moved to STARTING on the substrate and follows
// it; its follower acknowledges the task when it reports RUNNING. A start
// that failed goes back on the queue with back-off, or gives up. Once the
// start was attempted, its bookkeeping finishes even if the runner is
// stopping. The workload's capacity is held at once, and the substrate
// start runs on a goroutine of its own, so that the next task does not wait
// for this one's process or container to start (substrates start
// workloads concurrently).
func (r *Runner) launch(ctx context.Context, s *start) {
	if s.done {
		return
	}
	ctx = context.WithoutCancel(ctx)
	t := s.task
	if s.err != nil {
		r.putBack(ctx, t, false, s.err)
		return
	}
	w, ok := r.hold(core.WorkloadRef{EventID: t.EventID, Job: t.JobName}, t.ProjectID)
	if !ok {
		r.ack(ctx, t) // followed already (a lease that expired mid-start)
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		var err error
		if s.worker != nil {
			err = r.startWorker(ctx, t, w, s.worker)
		} else {
			err = r.startJob(ctx, t, w, s.job)
		}
		if err != nil {
			r.putBack(ctx, t, true, err)
		}
	}()
}

// startWorker launches a STARTING worker and follows it.
func (r *Runner) startWorker(ctx context.Context, t *core.Task, w *workload, launch *core.WorkerLaunch) error {
	launch.Command = r.cfg.WorkerCommand
	started, err := r.sub.StartWorker(ctx, launch)
	if err != nil {
		r.release(w)
		return fmt.Errorf("starting the worker on the %s substrate: %w", r.sub.Name(), err)
	}
	r.follow(w, started, lifetime(launch.Event.Worker.Spec.TimeoutDuration, r.cfg.MaxWorkerLifetime), t)
	return nil
}

// startJob launches a STARTING job and follows it.
func (r *Runner) startJob(ctx context.Context, t *core.Task, w *workload, launch *core.JobLaunch) error {
	started, err := r.sub.StartJob(ctx, launch)
	if err != nil {
		r.release(w)
		return fmt.Errorf("starting the job on the %s substrate: %w", r.sub.Name(), err)
	}
	r.follow(w, started, lifetime(launch.Job.Spec.TimeoutDuration, r.cfg.MaxJobLifetime), t)
	return nil
}

func (r *Runner) ack(ctx context.Context, t *core.Task) {
	if err := r.store.Queue().Ack(ctx, t.ID); err != nil && !core.IsNotFound(err) {
		r.waiting() // it stays leased until its lease expires
		r.log.Error("acknowledging a task", "task", describe(t), "error", err)
	}
}

// putBack deals with a failed start, in one transaction: the worker or job
// goes back to PENDING (when it was moved to STARTING; a cancel that came
// meanwhile stands) and its task back on the queue after a back-off, or,
// after MaxAttempts, it ends SCHEDULING_FAILED and the task is
// acknowledged. Either way its log says why (what the user sees while it
// waits, and after). Should the store fail, the transaction is tried again
// with back-off: a worker left STARTING with nobody starting it would
// never run.
func (r *Runner) putBack(ctx context.Context, t *core.Task, starting bool, cause error) {
	defer r.waiting() // due after its back-off, or at its lease's end
	r.cfg.Metrics.StartFailed(t.Kind)
	giveUp := t.Attempts+1 >= r.cfg.MaxAttempts
	delay := r.retryDelay(t.Attempts)
	if giveUp {
		r.log.Error("giving up on a task", "task", describe(t), "attempts", t.Attempts+1, "error", cause)
	} else {
		r.log.Warn("start failed; will retry", "task", describe(t), "attempt", t.Attempts+1, "in", delay, "error", cause)
	}
	ref := core.WorkloadRef{EventID: t.EventID, Job: t.JobName}
	var report error
	err := r.persist(r.runCtx(), "putting back "+describe(t)+" after a failed start", func() error {
		var queue error
		err := r.store.Tx(ctx, func(ctx context.Context) error {
			obs := asObserver(ctx)
			switch {
			case giveUp:
				r.note(ctx, ref, fmt.Sprintf("[brigade] could not start this %s after %d attempts: %v", t.Kind, t.Attempts+1, cause))
				r.closeLog(ctx, ref)
				now := r.clock.Now().UTC()
				if t.Kind == core.TaskWorker {
					report = r.svc.UpdateWorkerStatus(obs, t.EventID, core.WorkerStatus{Phase: core.PhaseSchedulingFailed, Ended: &now})
				} else {
					report = r.svc.UpdateJobStatus(obs, t.EventID, t.JobName, core.JobStatus{Phase: core.PhaseSchedulingFailed, Ended: &now,
						Reason: fmt.Sprintf("could not start after %d attempts: %v", t.Attempts+1, cause)})
				}
				queue = ignoreNotFound(r.store.Queue().Ack(ctx, t.ID))
			default:
				r.note(ctx, ref, fmt.Sprintf("[brigade] could not start this %s (attempt %d of %d), trying again in %s: %v",
					t.Kind, t.Attempts+1, r.cfg.MaxAttempts, delay.Round(time.Millisecond), cause))
				if starting {
					if t.Kind == core.TaskWorker {
						report = r.svc.UpdateWorkerStatus(obs, t.EventID, core.WorkerStatus{Phase: core.PhasePending})
					} else {
						report = r.svc.UpdateJobStatus(obs, t.EventID, t.JobName, core.JobStatus{Phase: core.PhasePending})
					}
				}
				queue = ignoreNotFound(r.store.Queue().Nack(ctx, t.ID, delay))
			}
			if !final(report) {
				return report // the store failed under the service: roll back, retry
			}
			return queue
		})
		return err
	})
	if !ignorable(report) {
		r.log.Error("reporting a failed start", "task", describe(t), "error", report)
	}
	if err != nil {
		r.log.Error("could not put a task back; its lease will expire instead", "task", describe(t), "error", err)
	}
}

// retryDelay is the back-off before a task that failed to start `attempts`
// times before this failure is tried again: RetryDelay doubled for each,
// capped at MaxRetryDelay, then jittered.
func (r *Runner) retryDelay(attempts int) time.Duration {
	d := r.cfg.RetryDelay
	for i := 0; i < attempts && d < r.cfg.MaxRetryDelay; i++ {
		d *= 2
	}
	return r.cfg.Jitter(min(d, r.cfg.MaxRetryDelay))
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

func describe(t *core.Task) string {
	if t.Kind == core.TaskJob {
		return fmt.Sprintf("job %s of event %s", t.JobName, t.EventID)
	}
	return "worker of event " + t.EventID
}
