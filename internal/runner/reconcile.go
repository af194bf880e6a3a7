package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// reconcile deals with what a previous run left, before anything new
// starts: workloads the substrate still runs are followed again; work it
// lost is finished ABORTED with the reason in its log (a worker's jobs
// follow, and its leftovers, such as orphaned processes, are removed now);
// and workloads whose worker or job is already over in the store are
// stopped.
func (r *Runner) reconcile(ctx context.Context) error {
	refs, err := r.sub.List(ctx)
	if err != nil {
		return fmt.Errorf("listing the %s substrate's workloads: %w", r.sub.Name(), err)
	}
	alive := map[core.WorkloadRef]bool{}
	for _, ref := range refs {
		alive[ref] = true
	}
	ids, err := r.store.Events().IDs(ctx, core.EventSelector{WorkerPhases: core.OnSubstrate()})
	if err != nil {
		return fmt.Errorf("listing running events: %w", err)
	}
	followed := map[core.WorkloadRef]bool{}
	for _, id := range ids {
		if ctx.Err() != nil {
			return nil
		}
		ev, err := r.store.Events().Get(ctx, id)
		if core.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading event %s: %w", id, err)
		}
		worker := core.WorkloadRef{EventID: id}
		if !alive[worker] {
			if err := r.lost(ctx, worker, ev.Worker.Status.Started); err != nil {
				return err
			}
			// Its jobs were aborted with it; whatever of it the substrate
			// still has (job containers, orphaned processes) goes now.
			if err := r.sub.Cleanup(ctx, id); err != nil {
				r.log.Warn("cleaning up after a lost worker", "event", id, "error", err)
			}
			continue
		}
		for _, j := range ev.Worker.Jobs {
			if j.Status == nil || !j.Status.Phase.IsOnSubstrate() {
				continue
			}
			ref := core.WorkloadRef{EventID: id, Job: j.Name}
			if !alive[ref] {
				if err := r.lost(ctx, ref, j.Status.Started); err != nil {
					return err
				}
				continue
			}
			r.reattach(ref, ev.ProjectID, j.Status.Started, lifetime(j.Spec.TimeoutDuration, r.cfg.MaxJobLifetime))
			followed[ref] = true
		}
		r.reattach(worker, ev.ProjectID, ev.Worker.Status.Started,
			lifetime(ev.Worker.Spec.TimeoutDuration, r.cfg.MaxWorkerLifetime))
		followed[worker] = true
	}
	// What the substrate runs and nobody follows belongs to work that is
	// over: stop it (its event's cleanup entry removes it later).
	for _, ref := range refs {
		if followed[ref] || ctx.Err() != nil {
			continue
		}
		over, err := r.over(ctx, ref)
		if err != nil {
			return fmt.Errorf("reading the phase of the %s: %w", ref, err)
		}
		if over {
			if err := r.sub.Stop(ctx, ref, r.cfg.StopGrace); err != nil {
				return fmt.Errorf("stopping the %s, whose work is over: %w", ref, err)
			}
		}
	}
	return nil
}

// reattach follows a workload a previous run started.
func (r *Runner) reattach(ref core.WorkloadRef, project string, started *time.Time, timeout time.Duration) {
	w, ok := r.hold(ref, project)
	if !ok {
		return
	}
	s := r.clock.Now()
	if started != nil {
		s = *started
	}
	r.follow(w, s, timeout, nil)
}

// lost finishes a workload the substrate no longer has as ABORTED, with the
// reason in its log, in one transaction (so that a retry after a failed
// one writes the reason once).
func (r *Runner) lost(ctx context.Context, ref core.WorkloadRef, started *time.Time) error {
	what := "job"
	if ref.IsWorker() {
		what = "worker"
	}
	var report error
	err := r.store.Tx(asObserver(ctx), func(ctx context.Context) error {
		r.note(ctx, ref, fmt.Sprintf("[brigade] the server restarted while this %s ran and the %s substrate no longer has it; it was aborted", what, r.sub.Name()))
		r.closeLog(ctx, ref)
		now := r.clock.Now().UTC()
		if ref.IsWorker() {
			report = r.svc.UpdateWorkerStatus(ctx, ref.EventID, core.WorkerStatus{Phase: core.PhaseAborted, Started: started, Ended: &now})
		} else {
			report = r.svc.UpdateJobStatus(ctx, ref.EventID, ref.Job, core.JobStatus{Phase: core.PhaseAborted, Started: started, Ended: &now})
		}
		if !ignorable(report) {
			return report
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finishing the %s, lost in a restart: %w", ref, err)
	}
	r.log.Info("finished work lost in a restart", "workload", ref.String())
	return nil
}
