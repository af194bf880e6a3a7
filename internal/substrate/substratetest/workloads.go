package substratetest

import (
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func (e *env) worker(eventID, script string) *core.WorkerLaunch {
	return &core.WorkerLaunch{
		Event:         &core.Event{Metadata: core.ObjectMeta{ID: eventID}, ProjectID: "conformance"},
		EventDocument: []byte(`{"event":"` + eventID + `"}`),
		Command:       e.h.WorkerCommand(script),
	}
}

func (e *env) startWorker(w *core.WorkerLaunch) {
	e.t.Helper()
	started, err := e.sub.StartWorker(e.ctx, w)
	if err != nil {
		e.t.Fatalf("StartWorker(%s): %v", w.Event.Metadata.ID, err)
	}
	if started.IsZero() {
		e.t.Error("StartWorker returned a zero start time")
	}
}

func (e *env) stop(ref core.WorkloadRef) {
	e.t.Helper()
	if err := e.sub.Stop(e.ctx, ref, 10*time.Second); err != nil {
		e.t.Fatalf("Stop(%s): %v", ref, err)
	}
	e.wait(ref)
}

func workloadCases() []testCase {
	return []testCase{
		{"Workloads/RunningCountsMoveUpAndDown", func(e *env) {
			w0, j0 := e.running()
			ev := e.event()
			e.startWorker(e.worker(ev, "sleep 1000"))
			a, b := e.job(ev, "first", "sleep 1000"), e.job(ev, "second", "sleep 1000")
			b.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{
				"side": shContainer(e.h.Image, "sleep 1000"),
			}
			e.startJob(a)
			e.startJob(b)
			if w, j := e.running(); w != w0+1 || j != j0+2 {
				e.t.Errorf("Running = %d workers, %d jobs with one worker and two jobs started; want %d, %d (a sidecar is part of its job)",
					w, j, w0+1, j0+2)
			}
			e.stop(jobRef(a))
			if w, j := e.running(); w != w0+1 || j != j0+1 {
				e.t.Errorf("Running = %d workers, %d jobs after one job ended; want %d, %d", w, j, w0+1, j0+1)
			}
			e.stop(jobRef(b))
			e.stop(core.WorkloadRef{EventID: ev})
			if w, j := e.running(); w != w0 || j != j0 {
				e.t.Errorf("Running = %d workers, %d jobs after everything ended; want %d, %d", w, j, w0, j0)
			}
			quick := e.job(ev, "quick", "exit 0")
			e.runJob(quick)
			if _, j := e.running(); j != j0 {
				e.t.Errorf("Running = %d jobs after a job ended by itself; want %d", j, j0)
			}
		}},
		{"Workloads/ListShowsRunningWork", func(e *env) {
			ev := e.event()
			e.startWorker(e.worker(ev, "sleep 1000"))
			jl := e.job(ev, "listed", "sleep 1000")
			e.startJob(jl)
			listed := e.list()
			for _, r := range []core.WorkloadRef{{EventID: ev}, jobRef(jl)} {
				if !listed[r] {
					e.t.Errorf("List does not show the running %s; it shows %v", r, listed)
				}
			}
		}},
		{"Workloads/CleanupRemovesEverythingAndIsIdempotent", func(e *env) {
			w0, j0 := e.running()
			ev := e.event()
			e.startWorker(e.worker(ev, "sleep 1000"))
			jl := e.job(ev, "cleaned", `sleep 1000 & echo "grandchild $!"; wait`)
			jl.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{
				"side": shContainer(e.h.Image, "sleep 1000"),
			}
			e.startJob(jl)
			pid := e.grandchildPID(jobStream(jl))
			waited := make(chan error, 1)
			go func() {
				_, err := e.sub.Wait(e.ctx, jobRef(jl))
				waited <- err
			}()
			if err := e.sub.Cleanup(e.ctx, ev); err != nil {
				e.t.Fatalf("Cleanup(%s) with work running: %v", ev, err)
			}
			select {
			case <-waited: // a status or a not-found error: either way it returned
			case <-e.ctx.Done():
				e.t.Fatal("a Wait in progress never returned after Cleanup")
			}
			e.expectGone(pid, "the job's background grandchild")
			if w, j := e.running(); w != w0 || j != j0 {
				e.t.Errorf("Running = %d workers, %d jobs after Cleanup; want %d, %d", w, j, w0, j0)
			}
			for r := range e.list() {
				if r.EventID == ev {
					e.t.Errorf("List still shows %s after Cleanup", r)
				}
			}
			side := core.LogStream{EventID: ev, Job: jl.Job.Name, Container: "side"}
			for _, s := range []core.LogStream{workerStream(ev), jobStream(jl), side} {
				if !e.sink.Closed(s) {
					e.t.Errorf("%s was not closed by Cleanup", fmtStream(s))
				}
			}
			if err := e.sub.Cleanup(e.ctx, ev); err != nil {
				e.t.Errorf("second Cleanup(%s): %v", ev, err)
			}
			if err := e.sub.Cleanup(e.ctx, "ev-never-seen"); err != nil {
				e.t.Errorf("Cleanup of an unknown event: %v", err)
			}
		}},
	}
}

func workerCases() []testCase {
	return []testCase{
		{"Worker/RunsCommandWithEventFile", func(e *env) {
			ev := e.event()
			w := e.worker(ev, `cat "$BRIGADE_EVENT_FILE"; echo; echo "extra=$EXTRA"; exit 4`)
			w.Env = map[string]string{"EXTRA": "from the worker template"}
			e.startWorker(w)
			st := e.wait(core.WorkloadRef{EventID: ev}, workerStream(ev))
			e.expectPhase("worker", st, core.PhaseFailed, 4)
			e.expectLines(workerStream(ev), e.lines(workerStream(ev)),
				[]string{string(w.EventDocument), "extra=from the worker template"})
		}},
		{"Worker/ExitZeroSucceeds", func(e *env) {
			ev := e.event()
			e.startWorker(e.worker(ev, `test -n "$BRIGADE_EVENT_FILE" && echo worker-ok`))
			st := e.wait(core.WorkloadRef{EventID: ev}, workerStream(ev))
			e.expectPhase("worker", st, core.PhaseSucceeded, 0)
			lines := e.lines(workerStream(ev))
			if !strings.Contains(strings.Join(lines, "\n"), "worker-ok") {
				e.t.Errorf("worker log lacks worker-ok: %s", abbreviate(lines))
			}
			for _, s := range e.sink.Streams() {
				if s.EventID == ev && (s.Job != "" || s.Container != "worker") {
					e.t.Errorf("a worker wrote to %s; want only the worker stream", fmtStream(s))
				}
			}
		}},
	}
}
