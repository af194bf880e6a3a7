package observer

import (
	"context"
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/core"
)

// Run keeps following workloads until ctx ends, then waits for the
// goroutines that follow them.
func (o *Observer) Run(ctx context.Context) error {
	<-ctx.Done()
	o.wg.Wait()
	return nil
}

// follow waits for a workload in the background and reports its outcome.
func (o *Observer) follow(ref core.WorkloadRef, started time.Time, timeout time.Duration) {
	o.mu.Lock()
	if o.live[ref] {
		o.mu.Unlock()
		return
	}
	o.live[ref] = true
	ctx := o.ctx
	o.wg.Add(1)
	o.mu.Unlock()
	go func() {
		defer o.wg.Done()
		defer func() {
			o.mu.Lock()
			delete(o.live, ref)
			o.mu.Unlock()
		}()
		o.await(ctx, ref, started, timeout)
	}()
}

type waitResult struct {
	status core.ExitStatus
	err    error
}

func (o *Observer) await(ctx context.Context, ref core.WorkloadRef, started time.Time, timeout time.Duration) {
	done := make(chan waitResult, 1)
	go func() {
		st, err := o.sub.Wait(ctx, ref)
		done <- waitResult{st, err}
	}()
	remaining := time.Until(started.Add(timeout))
	if remaining < 0 {
		remaining = 0
	}
	timer := time.NewTimer(remaining)
	defer timer.Stop()
	var res waitResult
	select {
	case res = <-done:
	case <-timer.C:
		o.timedOut(ctx, ref)
		res = <-done
	case <-ctx.Done():
		return // shutting down: the next start reconciles
	}
	if res.err != nil {
		if ctx.Err() != nil {
			return
		}
		o.log.Error("waiting for a workload", "workload", ref.String(), "error", res.err)
		res.status = core.ExitStatus{Phase: core.PhaseUnknown, Ended: time.Now()}
	}
	o.finish(ctx, ref, started, res.status)
}

// timedOut marks the workload TIMED_OUT (the API stops a worker's jobs)
// and stops it.
func (o *Observer) timedOut(ctx context.Context, ref core.WorkloadRef) {
	octx := o.asObserver(ctx)
	var err error
	if ref.IsWorker() {
		err = o.svc.TimeoutWorker(octx, ref.EventID)
	} else {
		err = o.svc.TimeoutJob(octx, ref.EventID, ref.Job)
	}
	if err != nil && !core.IsConflict(err) && !core.IsNotFound(err) {
		o.log.Error("timing out a workload", "workload", ref.String(), "error", err)
	}
	o.note(ctx, ref, "[brigade] timed out: stopping it")
	if err := o.sub.Stop(ctx, ref, o.cfg.StopGrace); err != nil {
		o.log.Warn("stopping a timed-out workload", "workload", ref.String(), "error", err)
	}
}

// finish reports a workload's terminal phase, frees its capacity, and
// schedules its cleanup.
func (o *Observer) finish(ctx context.Context, ref core.WorkloadRef, started time.Time, st core.ExitStatus) {
	octx := o.asObserver(ctx)
	phase := st.Phase
	if st.Stopped {
		phase = core.PhaseAborted
	}
	if phase == "" {
		phase = core.PhaseUnknown
	}
	s, e := started.UTC(), st.Ended.UTC()
	if st.Ended.IsZero() {
		e = time.Now().UTC()
	}
	var err error
	if ref.IsWorker() {
		err = o.svc.UpdateWorkerStatus(octx, ref.EventID, core.WorkerStatus{Phase: phase, Started: &s, Ended: &e})
	} else {
		err = o.svc.UpdateJobStatus(octx, ref.EventID, ref.Job, core.JobStatus{Phase: phase, Started: &s, Ended: &e})
	}
	if err != nil && !core.IsConflict(err) && !core.IsNotFound(err) {
		o.log.Error("reporting the end of a workload", "workload", ref.String(), "phase", phase, "error", err)
	}
	if o.capacity != nil {
		if ref.IsWorker() {
			o.capacity.WorkerFinished(ref.EventID)
		} else {
			o.capacity.Wake()
		}
	}
	if ref.IsWorker() {
		o.cleanupLater(ctx, ref.EventID)
	}
}

// cleanupLater removes an event's workloads after the grace period. Jobs the
// worker left running are stopped by it and end ABORTED.
func (o *Observer) cleanupLater(ctx context.Context, eventID string) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		t := time.NewTimer(o.cfg.CleanupDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if err := o.sub.Cleanup(ctx, eventID); err != nil {
			o.log.Warn("cleaning up an event", "event", eventID, "error", err)
		}
	}()
}

// note writes one line of ours into a workload's log.
func (o *Observer) note(ctx context.Context, ref core.WorkloadRef, msg string) {
	now := time.Now().UTC()
	stream := core.LogStream{EventID: ref.EventID, Job: ref.Job, Container: api.ContainerWorker}
	if !ref.IsWorker() {
		stream.Container = ref.Job
	}
	if err := o.svc.Store().Logs().Append(core.Relaxed(ctx), stream, []core.LogEntry{{Time: &now, Message: msg}}); err != nil {
		o.log.Warn("writing to a workload's log", "workload", ref.String(), "error", err)
	}
}

var activePhases = []core.WorkerPhase{core.PhaseStarting, core.PhaseRunning, core.PhaseUnknown}

// Reconcile deals with what a previous run of the server left: workloads
// the substrate still runs are re-attached; those it lost are finished as
// ABORTED with the reason in their log. Call it before anything starts new
// work.
func (o *Observer) Reconcile(ctx context.Context) error {
	store := o.svc.Store()
	ids, err := store.Events().IDs(ctx, core.EventSelector{WorkerPhases: activePhases})
	if err != nil {
		return fmt.Errorf("listing running events: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	refs, err := o.sub.List(ctx)
	if err != nil {
		return fmt.Errorf("listing the substrate's workloads: %w", err)
	}
	alive := map[core.WorkloadRef]bool{}
	for _, r := range refs {
		alive[r] = true
	}
	octx := o.asObserver(ctx)
	for _, id := range ids {
		ev, err := store.Events().Get(ctx, id)
		if err != nil {
			continue
		}
		for _, j := range ev.Worker.Jobs {
			if j.Status == nil || j.Status.Phase.IsTerminal() || j.Status.Phase == core.PhasePending {
				continue
			}
			ref := core.WorkloadRef{EventID: id, Job: j.Name}
			if alive[ref] {
				o.follow(ref, startedOr(j.Status.Started), o.timeout(j.Spec.TimeoutDuration, o.cfg.MaxJobLifetime))
				continue
			}
			o.note(ctx, ref, "[brigade] the server restarted while this job ran and the substrate no longer has it; it was aborted")
			o.svc.Store().Logs().Close(ctx, core.LogStream{EventID: id, Job: j.Name, Container: j.Name})
			now := time.Now().UTC()
			if err := o.svc.UpdateJobStatus(octx, id, j.Name, core.JobStatus{Phase: core.PhaseAborted,
				Started: j.Status.Started, Ended: &now}); err != nil && !core.IsConflict(err) {
				o.log.Warn("finishing a lost job", "event", id, "job", j.Name, "error", err)
			}
		}
		ref := core.WorkloadRef{EventID: id}
		if alive[ref] {
			o.follow(ref, startedOr(ev.Worker.Status.Started), o.timeout(ev.Worker.Spec.TimeoutDuration, o.cfg.MaxWorkerLifetime))
			continue
		}
		o.note(ctx, ref, "[brigade] the server restarted while this worker ran and the substrate no longer has it; it was aborted")
		o.svc.Store().Logs().Close(ctx, core.LogStream{EventID: id, Container: api.ContainerWorker})
		now := time.Now().UTC()
		if err := o.svc.UpdateWorkerStatus(octx, id, core.WorkerStatus{Phase: core.PhaseAborted,
			Started: ev.Worker.Status.Started, Ended: &now}); err != nil && !core.IsConflict(err) {
			o.log.Warn("finishing a lost worker", "event", id, "error", err)
		}
		if err := o.sub.Cleanup(ctx, id); err != nil {
			o.log.Warn("cleaning up a lost worker", "event", id, "error", err)
		}
		o.log.Info("finished work lost in a restart", "event", id)
	}
	return nil
}

func startedOr(t *time.Time) time.Time {
	if t == nil {
		return time.Now()
	}
	return *t
}
