package api

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// CancelEvent stops an event: a pending worker is CANCELED; a starting or
// running one is ABORTED together with its unfinished jobs.
func (s *Service) CancelEvent(ctx context.Context, id string) error {
	ev, err := s.store.Events().Head(ctx, id)
	if err != nil {
		return err
	}
	if _, err := requireProject(ctx, ev.ProjectID, auth.RoleProjectUser); err != nil {
		return err
	}
	changed, err := s.cancel(ctx, id)
	if err != nil {
		return err
	}
	if !changed {
		return core.NewConflict("Event", id, fmt.Sprintf("Event %q was not canceled because it was already in a terminal state.", id))
	}
	return nil
}

// cancel moves one event's worker and jobs to their canceled phases and
// schedules the event's cleanup, in one transaction; the runner sees the
// phases and stops the workloads. It reports false if the worker was
// already terminal.
func (s *Service) cancel(ctx context.Context, id string) (bool, error) {
	changed := false
	var m moves
	err := retryCAS(func() error {
		changed = false
		return s.store.Tx(ctx, func(ctx context.Context) error {
			m.reset()
			ev, err := s.store.Events().Head(ctx, id)
			if err != nil {
				return err
			}
			st := ev.Worker.Status
			from := st.Phase
			switch from {
			case core.PhasePending:
				st.Phase = core.PhaseCanceled
			case core.PhaseStarting, core.PhaseRunning, core.PhaseUnknown:
				st.Phase = core.PhaseAborted
			default:
				return nil
			}
			if err := s.store.Events().UpdateWorkerStatus(ctx, id, from, st); err != nil {
				return lostRace(err)
			}
			changed, m.worker = true, st.Phase
			return s.finishEvent(ctx, id, nil, &m)
		})
	})
	if err == nil {
		s.report(&m)
	}
	return changed, err
}

// stopJobs moves an event's unfinished jobs on: PENDING → CANCELED,
// STARTING/RUNNING/UNKNOWN → ABORTED. ended, if set, is stamped on the
// aborted ones.
func (s *Service) stopJobs(ctx context.Context, eventID string, jobs []core.Job, ended *time.Time, m *moves) error {
	for _, j := range jobs {
		if j.Status == nil {
			continue
		}
		st := *j.Status
		from := st.Phase
		switch from {
		case core.PhasePending:
			st.Phase = core.PhaseCanceled
		case core.PhaseStarting, core.PhaseRunning, core.PhaseUnknown:
			st.Phase = core.PhaseAborted
		default:
			continue
		}
		if ended != nil && st.Ended == nil {
			st.Ended = ended
		}
		if err := s.store.Jobs().UpdateStatus(ctx, eventID, j.Name, from, st); err != nil {
			return lostRace(err)
		}
		m.job(st.Phase)
	}
	return nil
}

// cancelablePhases are the only worker phases mass cancel acts on.
var cancelablePhases = []core.WorkerPhase{core.PhasePending, core.PhaseStarting, core.PhaseRunning}

// checkManySelector and checkManyPhases refuse a mass cancel or delete
// (verb) that is not narrowed to one project and some worker phases.
func checkManySelector(verb string, sel core.EventSelector) error {
	if sel.ProjectID == "" {
		return core.NewBadRequest("Requests to " + verb + ` multiple events must be qualified by project. Name it with the "projectID" query parameter.`)
	}
	return nil
}

func checkManyPhases(verb string, sel core.EventSelector) error {
	if len(sel.WorkerPhases) == 0 {
		return core.NewBadRequest("Requests to " + verb + ` multiple events must be qualified by worker phase(s). Name them with the "workerPhases" query parameter.`)
	}
	return nil
}

// manySelector keeps the filters mass cancel and delete honour.
func manySelector(sel core.EventSelector, phases []core.WorkerPhase) core.EventSelector {
	return core.EventSelector{ProjectID: sel.ProjectID, Source: sel.Source, Type: sel.Type,
		SourceState: sel.SourceState, WorkerPhases: phases}
}

// CancelManyEvents cancels every matching event of a project.
func (s *Service) CancelManyEvents(ctx context.Context, sel core.EventSelector) (int64, error) {
	if err := checkManySelector("cancel", sel); err != nil {
		return 0, err
	}
	if _, err := requireProject(ctx, sel.ProjectID, auth.RoleProjectUser); err != nil {
		return 0, err
	}
	if err := checkManyPhases("cancel", sel); err != nil {
		return 0, err
	}
	var phases []core.WorkerPhase
	for _, p := range sel.WorkerPhases {
		if slices.Contains(cancelablePhases, p) && !slices.Contains(phases, p) {
			phases = append(phases, p)
		}
	}
	if len(phases) == 0 {
		return 0, nil
	}
	ids, err := s.store.Events().IDs(ctx, manySelector(sel, phases))
	if err != nil {
		return 0, fmt.Errorf("finding events to cancel: %w", err)
	}
	var n int64
	for _, id := range ids {
		changed, err := s.cancel(ctx, id)
		if core.IsNotFound(err) {
			continue // deleted meanwhile
		}
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// DeleteEvent removes an event in any phase, with its jobs and logs.
func (s *Service) DeleteEvent(ctx context.Context, id string) error {
	ev, err := s.store.Events().Head(ctx, id)
	if err != nil {
		return err
	}
	if _, err := requireProject(ctx, ev.ProjectID, auth.RoleProjectUser); err != nil {
		return err
	}
	return s.store.Tx(ctx, func(ctx context.Context) error {
		if err := s.store.Events().Delete(ctx, id); err != nil {
			return err
		}
		return s.scheduleCleanup(ctx, id, true)
	})
}

// DeleteManyEvents removes every matching event of a project.
func (s *Service) DeleteManyEvents(ctx context.Context, sel core.EventSelector) (int64, error) {
	if err := checkManySelector("delete", sel); err != nil {
		return 0, err
	}
	if _, err := requireProject(ctx, sel.ProjectID, auth.RoleProjectUser); err != nil {
		return 0, err
	}
	if err := checkManyPhases("delete", sel); err != nil {
		return 0, err
	}
	ids, err := s.store.Events().IDs(ctx, manySelector(sel, sel.WorkerPhases))
	if err != nil {
		return 0, fmt.Errorf("finding events to delete: %w", err)
	}
	var n int64
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		n = 0
		for _, id := range ids {
			err := s.store.Events().Delete(ctx, id)
			if core.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			n++
			if err := s.scheduleCleanup(ctx, id, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("deleting events: %w", err)
	}
	return n, nil
}
