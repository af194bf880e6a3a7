package core

import (
	"context"
	"time"
)

// Substrate runs workers and jobs: host processes (local), containers
// (docker) or pods (kubernetes). Every implementation passes the conformance
// suite internal/substrate/substratetest.
//
// Contract:
//   - StartWorker/StartJob return once the workload is running (or failed to
//     start, with an error that says what to fix); the caller then reports
//     RUNNING with the returned start time.
//   - Wait blocks until the workload's primary process/container ends and
//     returns its outcome. Before Wait returns, every line the workload
//     wrote is in the LogSink and its streams are closed: logs are never
//     dropped and a finished workload has complete logs.
//   - Stop ends a workload (SIGTERM, then SIGKILL after grace, or the
//     substrate's equivalent); Wait then returns with Stopped set.
//   - Cleanup removes everything an event left on the substrate (workloads,
//     folders, volumes). It is idempotent and safe on unknown events.
//   - A job whose spec cannot run (no command on the local substrate, an
//     image that cannot be pulled, a forbidden privileged container) still
//     starts: Wait returns FAILED at once and the reason is in its log.
//     Start errors are for the substrate's own trouble.
//   - Wait on an unknown workload returns a *NotFoundError; Stop on an
//     unknown or finished one returns nil. List includes finished
//     workloads until Cleanup.
//   - Lines the substrate writes into a workload's log start "[brigade] ".
//   - ExitCode is 128+n after death by signal n, -1 if it never ran.
//   - Timeouts belong to the caller (internal/runner): it calls Stop and
//     records TIMED_OUT.
type Substrate interface {
	Name() string
	// Check reports, with an actionable message, whether the substrate can
	// run work at all (e.g. "docker socket /var/run/docker.sock is not
	// reachable: start dockerd or set DOCKER_HOST").
	Check(ctx context.Context) error
	StartWorker(ctx context.Context, w *WorkerLaunch) (started time.Time, err error)
	StartJob(ctx context.Context, j *JobLaunch) (started time.Time, err error)
	Wait(ctx context.Context, ref WorkloadRef) (ExitStatus, error)
	Stop(ctx context.Context, ref WorkloadRef, grace time.Duration) error
	Cleanup(ctx context.Context, eventID string) error
	// List returns the workloads the substrate still knows about, so that
	// after a restart they can be re-attached (Wait) or finished.
	List(ctx context.Context) ([]WorkloadRef, error)
	// Running counts live workers and jobs, for capacity.
	Running(ctx context.Context) (workers, jobs int, err error)
}

// WorkloadRef names a workload: an event's worker (Job empty) or one of
// its jobs.
type WorkloadRef struct {
	EventID string
	Job     string
}

// IsWorker reports whether the ref names a worker.
func (r WorkloadRef) IsWorker() bool { return r.Job == "" }

func (r WorkloadRef) String() string {
	if r.Job == "" {
		return "worker of event " + r.EventID
	}
	return "job " + r.Job + " of event " + r.EventID
}

// LogSink receives the lines workloads write. The log store implements it.
type LogSink interface {
	Append(ctx context.Context, s LogStream, entries []LogEntry) error
	Close(ctx context.Context, s LogStream) error
}

// WorkerLaunch is what a substrate needs to start an event's worker.
type WorkerLaunch struct {
	Event *Event
	// EventDocument is the worker's event.json: the event, the project's
	// secrets, the API address and the worker's token.
	EventDocument []byte
	// Command runs the worker program (e.g. [/usr/bin/brigade, worker]).
	// The substrate adds the location of event.json as BRIGADE_EVENT_FILE,
	// of the workspace as BRIGADE_WORKSPACE and, where it keeps one, of the
	// project's npm package cache as BRIGADE_NPM_CACHE.
	Command []string
	// Env is extra environment for the worker (from the worker template).
	Env map[string]string
}

// JobLaunch is what a substrate needs to start a job.
type JobLaunch struct {
	EventID      string
	ProjectID    string
	Job          *Job                         // spec, with redacted environment
	Environment  map[string]map[string]string // real environment per container name
	UseWorkspace bool                         // the worker template's useWorkspace
	// AllowPrivileged is the project's job policy: a substrate that can
	// run privileged containers refuses them when this is false.
	AllowPrivileged bool
	// ImagePullSecrets are the worker template's
	// kubernetes.imagePullSecrets: the kubernetes substrate gives them to
	// job pods; others ignore them.
	ImagePullSecrets []string
}

// ExitStatus is how a workload ended.
type ExitStatus struct {
	Phase    WorkerPhase // SUCCEEDED, FAILED, ABORTED (stopped) ...
	ExitCode int
	Ended    time.Time
	Reason   string // human-readable, e.g. "exit code 2" or "stopped"
	Stopped  bool   // ended by Stop
}
