package runner

import (
	"context"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// follow follows a started workload in the background until it ends or
// the runner stops. A fresh start comes with its task: the follower
// reports RUNNING and acknowledges the task in one transaction. A workload
// re-attached after a restart has none.
func (r *Runner) follow(w *workload, started time.Time, timeout time.Duration, t *core.Task) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.release(w)
		r.await(w, started, timeout, t)
	}()
}

type waitResult struct {
	status core.ExitStatus
	err    error
}

// await follows one workload under Run's context.
func (r *Runner) await(w *workload, started time.Time, timeout time.Duration, t *core.Task) {
	ctx := r.runCtx()
	ref := w.ref
	if t != nil {
		r.running(ctx, ref, started, t)
	}
	// Subscribe before the first look, so no change slips between. A job's
	// follower hears of its job, and of its event's deletion on the
	// worker's topic.
	var changes, deleted <-chan struct{}
	if ref.IsWorker() {
		ch, cancel := r.store.Subscribe(core.TopicWorker(ref.EventID))
		defer cancel()
		changes = ch
	} else {
		ch, cancel := r.store.Subscribe(core.TopicJob(ref.EventID, ref.Job))
		defer cancel()
		del, cancelDel := r.store.Subscribe(core.TopicWorker(ref.EventID))
		defer cancelDel()
		changes, deleted = ch, del
	}
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	done := make(chan waitResult, 1)
	go func() {
		st, err := r.sub.Wait(waitCtx, ref)
		done <- waitResult{st, err}
	}()
	timer := r.clock.TimerAt(started.Add(timeout))
	defer timer.Stop()
	stopped := false
	// A look at the store that failed is taken again after a back-off: a
	// cancel must not be missed because the store was busy when it came.
	var recheck <-chan time.Time
	failedLooks := 0
	look := func() {
		over, err := r.over(ctx, ref)
		if err != nil {
			failedLooks++
			wait := backoff(failedLooks, r.cfg.BackoffMin, r.cfg.BackoffMax)
			r.log.Warn("reading a followed workload's phase failed; trying again", "workload", ref.String(), "in", wait, "error", err)
			r.faulted()
			recheck = time.After(wait)
			return
		}
		failedLooks, recheck = 0, nil
		if over {
			r.stop(ctx, ref, "")
			stopped = true
		}
	}
	look()
	for {
		select {
		case res := <-done:
			if res.err != nil {
				if ctx.Err() != nil {
					return // stopping: the next start re-attaches or finishes it
				}
				// Nobody can tell how it ended; leaving it UNKNOWN would
				// strand its event, so it ends ABORTED with the reason.
				r.log.Error("waiting for a workload", "workload", ref.String(), "error", res.err)
				r.note(ctx, ref, "[brigade] lost track of this workload on the substrate, so it was aborted: "+res.err.Error())
				res.status = core.ExitStatus{Phase: core.PhaseAborted, Ended: r.clock.Now()}
			}
			r.finish(ctx, ref, started, res.status)
			return
		case <-timer.C():
			r.timedOut(ctx, ref)
			stopped = true
		case <-changes:
			if !stopped {
				look()
			}
		case <-deleted:
			if !stopped {
				look()
			}
		case <-recheck:
			if !stopped {
				look()
			}
		case <-ctx.Done():
			stopWaiting()
			<-done
			return
		}
	}
}

// over reports whether the store says a workload should not run any more:
// it is in a terminal phase (canceled, timed out, its event finished), or
// it, or its event, is gone. It reads the phase alone: followers ask on
// every change of their event. An error means the store could not say.
func (r *Runner) over(ctx context.Context, ref core.WorkloadRef) (bool, error) {
	var (
		phase core.WorkerPhase
		err   error
	)
	if ref.IsWorker() {
		phase, err = r.store.Events().WorkerPhase(ctx, ref.EventID)
	} else {
		phase, err = r.store.Jobs().Phase(ctx, ref.EventID, ref.Job)
	}
	if core.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return phase.IsTerminal(), nil
}

// stop asks the substrate to end a workload; its Wait then returns. A
// substrate that fails to stop it is asked again, with back-off, until it
// does (stopping a workload that has ended is no error) or the runner
// stops.
func (r *Runner) stop(ctx context.Context, ref core.WorkloadRef, why string) {
	if why != "" {
		r.note(ctx, ref, why)
	}
	if err := r.persist(ctx, "stopping the "+ref.String(), func() error {
		return r.sub.Stop(ctx, ref, r.cfg.StopGrace)
	}); err != nil {
		r.log.Warn("stopping a workload", "workload", ref.String(), "error", err)
	}
}

// running reports RUNNING with the start time and acknowledges the
// workload's task, in one transaction. A workload canceled in the meantime
// keeps its terminal phase (a conflict is expected then), and its task is
// acknowledged all the same. Should the transaction fail, the task's lease
// is tried again with back-off; should the runner stop first, the task's
// lease expires and the next lease of it finds nothing to start.
func (r *Runner) running(ctx context.Context, ref core.WorkloadRef, started time.Time, t *core.Task) {
	st := started.UTC()
	var report error
	err := r.persist(ctx, "reporting the "+ref.String()+" RUNNING", func() error {
		return r.store.Tx(asObserver(ctx), func(ctx context.Context) error {
			if ref.IsWorker() {
				report = r.svc.UpdateWorkerStatus(ctx, ref.EventID, core.WorkerStatus{Phase: core.PhaseRunning, Started: &st})
			} else {
				report = r.svc.UpdateJobStatus(ctx, ref.EventID, ref.Job, core.JobStatus{Phase: core.PhaseRunning, Started: &st})
			}
			if !final(report) {
				return report // the store failed under the service: roll back, retry
			}
			return ignoreNotFound(r.store.Queue().Ack(ctx, t.ID))
		})
	})
	if err == nil && report == nil {
		r.cfg.Metrics.Started(t.Kind, r.clock.Now().Sub(t.Created))
	}
	if !ignorable(report) {
		r.log.Error("reporting RUNNING", "workload", ref.String(), "error", report)
	}
	if err != nil {
		r.waiting() // it stays leased until its lease expires
		r.log.Error("acknowledging a started task", "task", describe(t), "error", err)
	}
}

// timedOut marks the workload TIMED_OUT (a worker's jobs follow) and stops
// it.
func (r *Runner) timedOut(ctx context.Context, ref core.WorkloadRef) {
	octx := asObserver(ctx)
	err := r.persist(ctx, "timing out the "+ref.String(), func() error {
		if ref.IsWorker() {
			return r.svc.TimeoutWorker(octx, ref.EventID)
		}
		return r.svc.TimeoutJob(octx, ref.EventID, ref.Job)
	})
	if !ignorable(err) {
		r.log.Error("timing out a workload", "workload", ref.String(), "error", err)
	}
	r.stop(ctx, ref, "[brigade] timed out: stopping it")
}

// finish reports a workload's terminal phase. For a worker, the service
// moves its unfinished jobs on and schedules the event's cleanup in the
// same transaction; their followers see it and stop them.
func (r *Runner) finish(ctx context.Context, ref core.WorkloadRef, started time.Time, st core.ExitStatus) {
	octx := asObserver(ctx)
	phase := st.Phase
	if st.Stopped {
		phase = core.PhaseAborted
	}
	if phase == "" {
		phase = core.PhaseUnknown
	}
	s, e := started.UTC(), st.Ended.UTC()
	if st.Ended.IsZero() {
		e = r.clock.Now().UTC()
	}
	// A report the store refuses is tried again until it is stored: the
	// end of a workload is known only now, and an event whose worker's
	// end is lost would stay RUNNING until the next restart.
	err := r.persist(ctx, "reporting the end of the "+ref.String(), func() error {
		if ref.IsWorker() {
			return r.svc.UpdateWorkerStatus(octx, ref.EventID, core.WorkerStatus{Phase: phase, Started: &s, Ended: &e})
		}
		// In a transaction, so that the service reads the job's status on
		// the writer (current already) rather than a reader that must
		// catch up with the latest commits first.
		var report error
		err := r.store.Tx(octx, func(ctx context.Context) error {
			report = r.svc.UpdateJobStatus(ctx, ref.EventID, ref.Job, jobEnd(phase, s, e, st))
			return nil
		})
		if err == nil {
			err = report
		}
		return err
	})
	if core.IsNotFound(err) && ref.IsWorker() {
		// Deleted while it ran: its cleanup was scheduled with the delete,
		// but the workload may have made folders since. Once more, now.
		if err := r.store.Cleanups().Schedule(core.Relaxed(ctx), ref.EventID, r.clock.Now()); err != nil {
			r.log.Warn("scheduling the cleanup of a deleted event", "event", ref.EventID, "error", err)
		}
		return
	}
	if !ignorable(err) {
		r.log.Error("reporting the end of a workload", "workload", ref.String(), "phase", phase, "error", err)
	}
}

// jobEnd is a finished job's status, with how its primary container ended
// when the substrate knows (no exit code when it never ran).
func jobEnd(phase core.WorkerPhase, started, ended time.Time, st core.ExitStatus) core.JobStatus {
	js := core.JobStatus{Phase: phase, Started: &started, Ended: &ended, Reason: st.Reason}
	if st.ExitCode >= 0 && !st.Stopped {
		code := st.ExitCode
		js.ExitCode = &code
	}
	return js
}
