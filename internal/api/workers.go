package api

import (
	"context"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// StartWorker moves a PENDING worker to STARTING, mints its token and asks
// the substrate to launch it.
func (s *Service) StartWorker(ctx context.Context, id string) error {
	if _, err := require(ctx, auth.RoleScheduler, ""); err != nil {
		return err
	}
	token := auth.NewToken()
	var ev *core.Event
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		ev, err = s.store.Events().Head(ctx, id)
		if err != nil {
			return err
		}
		if ev.Worker.Status.Phase != core.PhasePending {
			return core.NewConflict("Event", id, fmt.Sprintf(
				"worker of event %q cannot be started: it is %s, not PENDING", id, ev.Worker.Status.Phase))
		}
		ev.Worker.Status.Phase = core.PhaseStarting
		if err := s.store.Events().UpdateWorkerStatus(ctx, id, core.PhasePending, ev.Worker.Status); err != nil {
			return err
		}
		return s.store.Events().SetWorkerTokenHash(ctx, id, auth.HashToken(token))
	})
	if err != nil {
		return err
	}
	if s.workloads != nil {
		if err := s.workloads.StartWorker(ctx, ev, token); err != nil {
			// Put it back to PENDING so that a retry can start it; if it
			// was canceled meanwhile, that stands.
			if rerr := s.store.Events().UpdateWorkerStatus(ctx, id, core.PhaseStarting,
				core.WorkerStatus{Phase: core.PhasePending}); rerr != nil && !core.IsConflict(rerr) {
				s.log.Error("returning a worker to PENDING after a failed start", "event", id, "error", rerr)
			}
			return fmt.Errorf("starting worker of event %s on the substrate: %w", id, err)
		}
	}
	return nil
}

// GetWorkerStatus returns an event's worker status.
func (s *Service) GetWorkerStatus(ctx context.Context, id string) (*core.WorkerStatus, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, err
	}
	ev, err := s.store.Events().Head(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ev.Worker.Status, nil
}

// UpdateWorkerStatus replaces a worker's status unless it is terminal.
func (s *Service) UpdateWorkerStatus(ctx context.Context, id string, st core.WorkerStatus) error {
	if _, err := require(ctx, auth.RoleObserver, ""); err != nil {
		return err
	}
	return retryCAS(func() error {
		ev, err := s.store.Events().Head(ctx, id)
		if err != nil {
			return err
		}
		cur := ev.Worker.Status.Phase
		if cur.IsTerminal() {
			return core.NewConflict("Event", id, fmt.Sprintf(
				"worker of event %q is already %s; its status can no longer change", id, cur))
		}
		return lostRace(s.store.Events().UpdateWorkerStatus(ctx, id, cur, st))
	})
}

// CleanupWorker removes the substrate resources of an event's worker and
// jobs. The database is left as it is.
func (s *Service) CleanupWorker(ctx context.Context, id string) error {
	if _, err := require(ctx, auth.RoleObserver, ""); err != nil {
		return err
	}
	if _, err := s.store.Events().Head(ctx, id); err != nil {
		return err
	}
	if s.workloads == nil {
		return nil
	}
	return s.workloads.CleanupWorker(ctx, id)
}

// TimeoutWorker marks a starting or running worker TIMED_OUT, stops its
// jobs, and cleans up.
func (s *Service) TimeoutWorker(ctx context.Context, id string) error {
	if _, err := require(ctx, auth.RoleObserver, ""); err != nil {
		return err
	}
	err := retryCAS(func() error {
		return s.store.Tx(ctx, func(ctx context.Context) error {
			ev, err := s.store.Events().Get(ctx, id)
			if err != nil {
				return err
			}
			st := ev.Worker.Status
			from := st.Phase
			if from != core.PhaseStarting && from != core.PhaseRunning {
				return core.NewConflict("Event", id, fmt.Sprintf(
					"worker of event %q cannot time out: it is %s, not STARTING or RUNNING", id, from))
			}
			st.Phase = core.PhaseTimedOut
			st.Ended = timePtr(s.now())
			if err := s.store.Events().UpdateWorkerStatus(ctx, id, from, st); err != nil {
				return lostRace(err)
			}
			return s.stopJobs(ctx, ev, &st)
		})
	})
	if err != nil {
		return err
	}
	s.cleanupAsync(id)
	return nil
}

// workloadPhases are the phases in which a worker or job occupies capacity.
var workloadPhases = []core.WorkerPhase{core.PhaseStarting, core.PhaseRunning, core.PhaseUnknown}

// RunningWorkers counts live workers, from the substrate when there is one.
func (s *Service) RunningWorkers(ctx context.Context) (int, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return 0, err
	}
	if s.workloads != nil {
		return s.workloads.RunningWorkers(ctx)
	}
	ids, err := s.store.Events().IDs(ctx, core.EventSelector{WorkerPhases: workloadPhases})
	return len(ids), err
}

// RunningJobs counts live jobs, from the substrate when there is one.
func (s *Service) RunningJobs(ctx context.Context) (int, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return 0, err
	}
	if s.workloads != nil {
		return s.workloads.RunningJobs(ctx)
	}
	return s.store.Jobs().CountInPhases(ctx, workloadPhases)
}
