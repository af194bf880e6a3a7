package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// statusCases cover the narrow reads of a worker's or a job's status and
// phase: they agree with Head and Get after every change, inside and
// outside a transaction, and tell a missing event from a missing job.
func statusCases() []testCase {
	return []testCase{
		{"Status/WorkerStatusAndPhaseFollowUpdates", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			ctx := t.Context()
			st, err := s.Events().WorkerStatus(ctx, "e1")
			must(t, err, "worker status")
			wantEqual(t, st, core.WorkerStatus{Phase: core.PhasePending}, "status of a new worker")
			phase, err := s.Events().WorkerPhase(ctx, "e1")
			must(t, err, "worker phase")
			wantEqual(t, phase, core.PhasePending, "phase of a new worker")

			running := core.WorkerStatus{Phase: core.PhaseRunning, Started: ptr(base.Add(time.Second))}
			must(t, s.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending, running), "update")
			st, err = s.Events().WorkerStatus(ctx, "e1")
			must(t, err, "worker status")
			wantTime(t, st.Started, base.Add(time.Second), "started")
			head, err := s.Events().Head(ctx, "e1")
			must(t, err, "head")
			wantEqual(t, st, head.Worker.Status, "status next to Head's")
			phase, err = s.Events().WorkerPhase(ctx, "e1")
			must(t, err, "worker phase")
			wantEqual(t, phase, core.PhaseRunning, "phase after the update")
		}},
		{"Status/WorkerReadsOfAMissingEventAreNotFound", func(t *testing.T, s core.Store) {
			_, err := s.Events().WorkerStatus(t.Context(), "nope")
			wantNotFound(t, err, "Event")
			_, err = s.Events().WorkerPhase(t.Context(), "nope")
			wantNotFound(t, err, "Event")
		}},
		{"Status/JobStatusAndPhaseFollowUpdates", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkJob(t, s, "e1", "build")
			ctx := t.Context()
			st, err := s.Jobs().Status(ctx, "e1", "build")
			must(t, err, "job status")
			wantEqual(t, st, core.JobStatus{Phase: core.PhasePending}, "status of a new job")

			done := core.JobStatus{Phase: core.PhaseSucceeded, Started: ptr(base), Ended: ptr(base.Add(time.Minute)), LogsEventID: "e0"}
			must(t, s.Jobs().UpdateStatus(ctx, "e1", "build", core.PhasePending, done), "update")
			st, err = s.Jobs().Status(ctx, "e1", "build")
			must(t, err, "job status")
			wantTime(t, st.Ended, base.Add(time.Minute), "ended")
			j, err := s.Jobs().Get(ctx, "e1", "build")
			must(t, err, "get")
			wantEqual(t, st, *j.Status, "status next to Get's")
			phase, err := s.Jobs().Phase(ctx, "e1", "build")
			must(t, err, "job phase")
			wantEqual(t, phase, core.PhaseSucceeded, "phase after the update")
		}},
		{"Status/AJobWithoutStatusHasAZeroOne", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			j := newJob("bare")
			j.Status = nil
			must(t, s.Jobs().Create(t.Context(), "e1", j), "create job")
			st, err := s.Jobs().Status(t.Context(), "e1", "bare")
			must(t, err, "job status")
			wantEqual(t, st, core.JobStatus{}, "status")
			phase, err := s.Jobs().Phase(t.Context(), "e1", "bare")
			must(t, err, "job phase")
			wantEqual(t, phase, core.JobPhase(""), "phase")
		}},
		{"Status/JobReadsTellAMissingEventFromAMissingJob", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			_, err := s.Jobs().Status(t.Context(), "e1", "nope")
			wantNotFound(t, err, "Job")
			_, err = s.Jobs().Phase(t.Context(), "e1", "nope")
			wantNotFound(t, err, "Job")
			_, err = s.Jobs().Status(t.Context(), "nope", "build")
			wantNotFound(t, err, "Event")
			_, err = s.Jobs().Phase(t.Context(), "nope", "build")
			wantNotFound(t, err, "Event")
		}},
		{"Status/ReadsInsideATransactionSeeItsWrites", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkJob(t, s, "e1", "build")
			// fn may run on the store's writer: it reports, the test asserts.
			var (
				wp core.WorkerPhase
				ws core.WorkerStatus
				jp core.JobPhase
				js core.JobStatus
			)
			must(t, s.Tx(t.Context(), func(ctx context.Context) error {
				if err := s.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending,
					core.WorkerStatus{Phase: core.PhaseRunning}); err != nil {
					return err
				}
				if err := s.Jobs().UpdateStatus(ctx, "e1", "build", core.PhasePending,
					core.JobStatus{Phase: core.PhaseStarting}); err != nil {
					return err
				}
				var err error
				if wp, err = s.Events().WorkerPhase(ctx, "e1"); err != nil {
					return err
				}
				if ws, err = s.Events().WorkerStatus(ctx, "e1"); err != nil {
					return err
				}
				if jp, err = s.Jobs().Phase(ctx, "e1", "build"); err != nil {
					return err
				}
				js, err = s.Jobs().Status(ctx, "e1", "build")
				return err
			}), "transaction")
			wantEqual(t, wp, core.PhaseRunning, "worker phase in the transaction")
			wantEqual(t, ws.Phase, core.PhaseRunning, "worker status in the transaction")
			wantEqual(t, jp, core.PhaseStarting, "job phase in the transaction")
			wantEqual(t, js.Phase, core.PhaseStarting, "job status in the transaction")
		}},
	}
}
