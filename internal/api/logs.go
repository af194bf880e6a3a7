package api

import (
	"context"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// Containers that are not named after a job.
const (
	ContainerWorker = "worker"
	ContainerVCS    = "vcs"
)

// LogTarget is a resolved log request: which stream to read, and how to
// tell the phase of the worker or job that writes it.
type LogTarget struct {
	Stream core.LogStream
	// Phase reads the current phase of the writer (worker or job).
	Phase func(ctx context.Context) (core.WorkerPhase, error)

	logs core.LogStore
}

// Read returns up to limit stored lines after position `after`, in order.
func (t *LogTarget) Read(ctx context.Context, after int64, limit int) ([]core.StoredLogEntry, error) {
	return t.logs.Read(ctx, t.Stream, after, limit)
}

// Closed reports whether the stream's writer closed it (no more lines).
func (t *LogTarget) Closed(ctx context.Context) (bool, error) {
	return t.logs.IsClosed(ctx, t.Stream)
}

// ResolveLogs checks a log request (docs/api.md, "Log streams"): the event must
// exist, the caller must be a PROJECT_USER of its project, its worker, or an
// EVENT_CREATOR for its source, and the container must belong to the worker
// or job. A job inherited by a retry reads the original event's logs.
func (s *Service) ResolveLogs(ctx context.Context, eventID, job, container string) (*LogTarget, error) {
	ev, err := s.store.Events().Head(ctx, eventID)
	if err != nil {
		return nil, err
	}
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasProjectRole(ev.ProjectID, auth.RoleProjectUser) && !p.HasRole(auth.RoleWorker, eventID) &&
		!p.HasRole(auth.RoleEventCreator, ev.Source) {
		return nil, &core.AuthorizationError{Reason: fmt.Sprintf(
			"reading logs needs the PROJECT_USER role on project %q", ev.ProjectID)}
	}
	if job == "" {
		if container == "" {
			container = ContainerWorker
		}
		if container != ContainerWorker && !(container == ContainerVCS && ev.Worker.Spec.Git != nil) {
			return nil, &core.NotFoundError{Type: "WorkerContainer", ID: container}
		}
		return &LogTarget{
			Stream: core.LogStream{EventID: eventID, Container: container}, logs: s.store.Logs(),
			Phase: func(ctx context.Context) (core.WorkerPhase, error) {
				e, err := s.store.Events().Get(ctx, eventID)
				if err != nil {
					return "", err
				}
				return e.Worker.Status.Phase, nil
			},
		}, nil
	}
	j, err := s.store.Jobs().Get(ctx, eventID, job)
	if core.IsNotFound(err) {
		return nil, &core.NotFoundError{Type: "Job", ID: job}
	}
	if err != nil {
		return nil, err
	}
	if container == "" {
		container = job
	}
	valid := container == job
	if _, ok := j.Spec.SidecarContainers[container]; ok {
		valid = true
	}
	if container == ContainerVCS {
		for _, c := range containers(j) {
			if c.SourceMountPath != "" {
				valid = true
			}
		}
	}
	if !valid {
		return nil, &core.NotFoundError{Type: "JobContainer", ID: container}
	}
	logsEvent := eventID
	if j.Status != nil && j.Status.LogsEventID != "" {
		logsEvent = j.Status.LogsEventID
		if _, err := s.store.Events().Get(ctx, logsEvent); core.IsNotFound(err) {
			return nil, &core.NotFoundError{Reason: fmt.Sprintf(
				"job %q inherited its result from event %q, which has been deleted with its logs", job, logsEvent)}
		}
	}
	return &LogTarget{
		Stream: core.LogStream{EventID: logsEvent, Job: job, Container: container}, logs: s.store.Logs(),
		Phase: func(ctx context.Context) (core.WorkerPhase, error) {
			jj, err := s.store.Jobs().Get(ctx, eventID, job)
			if err != nil {
				return "", err
			}
			return phaseOf(jj), nil
		},
	}, nil
}

// AppendWorkerLog stores lines that a worker writes into one of its log
// streams other than its own output (which its substrate stores): today the
// vcs stream, where the worker's git clone writes. Only the event's worker
// may call it, and only for an event whose worker has git.
//
// after is how many lines the writer knows are stored already: a retry of
// a request whose answer was lost sends the same after and lines, and the
// lines stored by the first attempt are not stored twice. close marks the
// stream complete once the lines are in, so that followers end.
func (s *Service) AppendWorkerLog(ctx context.Context, eventID, container string, after int64, lines []core.LogEntry, close bool) error {
	if _, err := require(ctx, auth.RoleWorker, eventID); err != nil {
		return err
	}
	if container != ContainerVCS {
		return core.NewBadRequest(fmt.Sprintf(
			"a worker can write only its %q log (its own output is stored by its substrate), not %q", ContainerVCS, container))
	}
	if after < 0 {
		return core.NewBadRequest(fmt.Sprintf("after counts the lines already stored; it cannot be negative (got %d)", after))
	}
	ev, err := s.store.Events().Head(ctx, eventID)
	if err != nil {
		return err
	}
	if ev.Worker.Spec.Git == nil {
		return &core.NotFoundError{Type: "WorkerContainer", ID: container}
	}
	stream := core.LogStream{EventID: eventID, Container: container}
	logs := s.store.Logs()
	// Lines after `after` that are stored already came from an attempt
	// whose answer was lost: the writer is the stream's only one, and it
	// sends one request at a time.
	if len(lines) > 0 {
		stored, err := logs.Read(ctx, stream, after, len(lines))
		if err != nil {
			return err
		}
		lines = lines[len(stored):]
	}
	if len(lines) > 0 {
		closed, err := logs.IsClosed(ctx, stream)
		if err != nil {
			return err
		}
		if closed {
			return &core.ConflictError{Type: "LogStream", ID: container,
				Reason: fmt.Sprintf("the %s log of event %q is closed: no more lines can be written to it", container, eventID)}
		}
		if lines, err = s.RedactLogs(ctx, eventID, lines); err != nil { // redact.go
			return err
		}
		if err := logs.Append(ctx, stream, lines); err != nil {
			return err
		}
	}
	if close {
		return logs.Close(ctx, stream)
	}
	return nil
}
