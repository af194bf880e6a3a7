package api

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// StartWorker moves a PENDING worker to STARTING and mints its token. It
// returns what the substrate needs to launch the worker (the event and its
// event.json with the token, without the project's secrets; the caller adds
// the command); the runner launches it. Over HTTP (an external scheduler) only
// the state changes.
func (s *Service) StartWorker(ctx context.Context, id string) (*core.WorkerLaunch, error) {
	if _, err := require(ctx, auth.RoleScheduler, ""); err != nil {
		return nil, err
	}
	token := auth.NewToken()
	var launch *core.WorkerLaunch
	var projectID string
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		ev, err := s.store.Events().Head(ctx, id)
		if err != nil {
			return err
		}
		projectID = ev.ProjectID
		if ev.Worker.Status.Phase != core.PhasePending {
			return core.NewConflict("Event", id, fmt.Sprintf(
				"Event %q worker has already been started.", id))
		}
		// Everything the launch needs is read in this transaction, so a
		// failure leaves the worker PENDING for a retry.
		if launch, err = s.workerLaunch(ctx, ev, token); err != nil {
			return err
		}
		ev.Worker.Status.Phase = core.PhaseStarting
		if err := s.store.Events().UpdateWorkerStatus(ctx, id, core.PhasePending, ev.Worker.Status); err != nil {
			return err
		}
		return s.store.Events().SetWorkerTokenHash(ctx, id, auth.HashToken(token))
	})
	if err != nil {
		return nil, err
	}
	s.redact.knowEvent(id, projectID) // redact.go: its lines need no lookup
	s.metrics.WorkerPhase(core.PhaseStarting)
	return launch, nil
}

// workerLaunch builds what a substrate needs to start an event's worker.
// The project's secrets stay out of the built-in worker's event.json: it
// fetches them (WorkerSecrets, workersecrets.go). A project without
// secrets saves its workers that request: their event.json says there are
// none. A worker image gets them in the file, as Brigade's workers did.
func (s *Service) workerLaunch(ctx context.Context, ev *core.Event, token string) (*core.WorkerLaunch, error) {
	namespace := ""
	if p, err := s.store.Projects().Get(ctx, ev.ProjectID); err == nil && p.Kubernetes != nil {
		namespace = p.Kubernetes.Namespace
	}
	started := *ev
	started.Worker.Status.Phase = core.PhaseStarting
	d := core.NewEventDocument(&started, namespace, nil, s.cfg.APIAddress, token)
	keys, _, err := s.store.Secrets().List(ctx, ev.ProjectID, core.ListOptions{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("reading the secrets of project %s: %w", ev.ProjectID, err)
	}
	switch {
	case len(keys) > 0 && core.WorkerImage(&ev.Worker.Spec) != "":
		// A worker image follows Brigade's contract, where the secrets are
		// in the file (docs/worker-contract.md); the substrate puts the file
		// inside the worker's container only, never in the data dir.
		if d.Project.Secrets, err = s.projectSecrets(ctx, ev.ProjectID); err != nil {
			return nil, err
		}
	case len(keys) > 0:
		d.Project.Secrets, d.Worker.SecretsFromAPI = nil, true
	default:
		d.Project.Secrets = map[string]string{}
	}
	d.Worker.APICertificate = s.cfg.APICertificate
	doc, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding event.json of event %s: %w", ev.Metadata.ID, err)
	}
	launch := &core.WorkerLaunch{Event: &started, EventDocument: doc}
	if c := ev.Worker.Spec.Container; c != nil {
		launch.Env = c.Environment
	}
	return launch, nil
}

// WorkerChanges returns a channel that receives a value after every commit
// that changed an event or its worker, including its deletion, but not
// after changes of its jobs alone (see core.TopicWorker).
func (s *Service) WorkerChanges(eventID string) (<-chan struct{}, func()) {
	return s.store.Subscribe(core.TopicWorker(eventID))
}

// GetWorkerStatus returns an event's worker status.
func (s *Service) GetWorkerStatus(ctx context.Context, id string) (*core.WorkerStatus, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, err
	}
	st, err := s.store.Events().WorkerStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// UpdateWorkerStatus replaces a worker's status unless it is terminal. When
// the new phase is terminal, the worker's unfinished jobs follow (PENDING →
// CANCELED, others → ABORTED) and the event's cleanup is scheduled, in the
// same transaction.
func (s *Service) UpdateWorkerStatus(ctx context.Context, id string, st core.WorkerStatus) error {
	if _, err := require(ctx, auth.RoleObserver, ""); err != nil {
		return err
	}
	var m moves
	err := retryCAS(func() error {
		return s.store.Tx(ctx, func(ctx context.Context) error {
			m.reset()
			cur, err := s.store.Events().WorkerPhase(ctx, id)
			if err != nil {
				return err
			}
			if cur.IsTerminal() {
				return core.NewConflict("Event", id, fmt.Sprintf(
					"Event %q worker has already reached a terminal phase.", id))
			}
			if err := s.store.Events().UpdateWorkerStatus(ctx, id, cur, st); err != nil {
				return lostRace(err)
			}
			if cur != st.Phase { // a repeated report moves nothing
				m.worker = st.Phase
			}
			if !st.Phase.IsTerminal() {
				return nil
			}
			return s.finishEvent(ctx, id, st.Ended, &m)
		})
	})
	if err == nil {
		s.report(&m)
	}
	return err
}

// finishEvent, inside the transaction that made an event's worker terminal,
// moves its unfinished jobs on and schedules its cleanup.
func (s *Service) finishEvent(ctx context.Context, id string, ended *time.Time, m *moves) error {
	jobs, err := s.store.Jobs().List(ctx, id)
	if err != nil {
		return err
	}
	if err := s.stopJobs(ctx, id, jobs, ended, m); err != nil {
		return err
	}
	return s.scheduleCleanup(ctx, id, false)
}

// CleanupWorker asks for the substrate resources of an event's worker and
// jobs to be removed now. The database is left as it is.
func (s *Service) CleanupWorker(ctx context.Context, id string) error {
	if _, err := require(ctx, auth.RoleObserver, ""); err != nil {
		return err
	}
	if _, err := s.store.Events().Head(ctx, id); err != nil {
		return err
	}
	return s.store.Cleanups().Schedule(ctx, id, s.now())
}

// TimeoutWorker marks a starting or running worker TIMED_OUT, stops its
// jobs, and schedules the event's cleanup.
func (s *Service) TimeoutWorker(ctx context.Context, id string) error {
	if _, err := require(ctx, auth.RoleObserver, ""); err != nil {
		return err
	}
	var m moves
	err := retryCAS(func() error {
		return s.store.Tx(ctx, func(ctx context.Context) error {
			m.reset()
			st, err := s.store.Events().WorkerStatus(ctx, id)
			if err != nil {
				return err
			}
			from := st.Phase
			if from != core.PhaseStarting && from != core.PhaseRunning {
				return core.NewConflict("Event", id, fmt.Sprintf(
					"Event %q was not timed out because it was not in a starting or running state.", id))
			}
			st.Phase = core.PhaseTimedOut
			st.Ended = timePtr(s.now())
			if err := s.store.Events().UpdateWorkerStatus(ctx, id, from, st); err != nil {
				return lostRace(err)
			}
			m.worker = st.Phase
			return s.finishEvent(ctx, id, st.Ended, &m)
		})
	})
	if err == nil {
		s.report(&m)
	}
	return err
}

// RunningWorkers counts workers that occupy capacity (STARTING, RUNNING or
// UNKNOWN).
func (s *Service) RunningWorkers(ctx context.Context) (int, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return 0, err
	}
	ids, err := s.store.Events().IDs(ctx, core.EventSelector{WorkerPhases: core.OnSubstrate()})
	return len(ids), err
}

// RunningJobs counts jobs that occupy capacity.
func (s *Service) RunningJobs(ctx context.Context) (int, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return 0, err
	}
	return s.store.Jobs().CountInPhases(ctx, core.OnSubstrate())
}
