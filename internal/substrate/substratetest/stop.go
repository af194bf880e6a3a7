package substratetest

import (
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func stopCases() []testCase {
	// stopTree starts a job whose shell leaves a grandchild running, stops
	// it and checks that the whole tree is gone.
	stopTree := func(e *env, name, script string, grace time.Duration) {
		ev := e.event()
		jl := e.job(ev, name, script)
		e.startJob(jl)
		pid := e.grandchildPID(jobStream(jl))
		if err := e.sub.Stop(e.ctx, jobRef(jl), grace); err != nil {
			e.t.Fatalf("Stop(%s): %v", jobRef(jl), err)
		}
		st := e.wait(jobRef(jl), jobStream(jl))
		if !st.Stopped || st.Phase != core.PhaseAborted {
			e.t.Errorf("a stopped job ended %s (Stopped=%v, reason %q); want ABORTED with Stopped set",
				st.Phase, st.Stopped, st.Reason)
		}
		e.expectGone(pid, "the job's background grandchild")
		if _, jobs := e.running(); jobs != 0 {
			e.t.Errorf("Running reports %d jobs after the only job was stopped", jobs)
		}
	}
	return []testCase{
		{"Job/StopKillsProcessTree", func(e *env) {
			stopTree(e, "stopped", `sleep 1000 & echo "grandchild $!"; wait`, 30*time.Second)
		}},
		{"Job/StopEscalatesToKill", func(e *env) {
			// The shell and its child ignore SIGTERM: only the kill after
			// the grace period ends them.
			stopTree(e, "stubborn", `trap '' TERM; sleep 1000 & echo "grandchild $!"; wait; wait`, 300*time.Millisecond)
		}},
		{"Job/StopOfUnknownOrFinishedIsHarmless", func(e *env) {
			ev := e.event()
			unknown := core.WorkloadRef{EventID: ev, Job: "never-started"}
			if err := e.sub.Stop(e.ctx, unknown, time.Second); err != nil && !core.IsNotFound(err) {
				e.t.Errorf("Stop(%s) of a workload that never existed: %v; want nil or a not-found error", unknown, err)
			}
			jl := e.job(ev, "finished", "exit 0")
			st, _ := e.runJob(jl)
			if err := e.sub.Stop(e.ctx, jobRef(jl), time.Second); err != nil && !core.IsNotFound(err) {
				e.t.Errorf("Stop(%s) of a finished job: %v; want nil", jobRef(jl), err)
			}
			again := e.wait(jobRef(jl))
			if again.Phase != st.Phase || again.Stopped {
				e.t.Errorf("after a Stop of the finished job, Wait says %s (Stopped=%v); it ended %s",
					again.Phase, again.Stopped, st.Phase)
			}
		}},
		{"Worker/StopEndsIt", func(e *env) {
			ev := e.event()
			w := e.worker(ev, `sleep 1000 & echo "grandchild $!"; wait`)
			e.startWorker(w)
			pid := e.grandchildPID(workerStream(ev))
			ref := core.WorkloadRef{EventID: ev}
			if err := e.sub.Stop(e.ctx, ref, 30*time.Second); err != nil {
				e.t.Fatalf("Stop(%s): %v", ref, err)
			}
			st := e.wait(ref, workerStream(ev))
			if !st.Stopped || st.Phase != core.PhaseAborted {
				e.t.Errorf("a stopped worker ended %s (Stopped=%v); want ABORTED with Stopped set", st.Phase, st.Stopped)
			}
			e.expectWorkerGone(pid, "the worker's background grandchild")
		}},
	}
}
