// Package observer launches workloads on the substrate for the API and
// follows them: it moves worker and job phases forward from what the
// substrate reports (RUNNING when started, then SUCCEEDED, FAILED or
// ABORTED), enforces the worker's timeoutDuration and the jobs'
// timeouts (TIMED_OUT), cleans finished workloads up after a grace period,
// and after a server restart re-attaches to work that is still running or
// finishes it with a clear phase and reason.
package observer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// Config tunes the observer.
type Config struct {
	// WorkerCommand runs a worker (e.g. [/usr/bin/brigade, worker]).
	WorkerCommand []string
	// APIAddress is how workers reach the API.
	APIAddress string
	// CleanupDelay is how long finished workloads stay before cleanup
	// (default 1m; logs are already stored, this keeps folders to inspect).
	CleanupDelay time.Duration
	// MaxWorkerLifetime and MaxJobLifetime cap timeouts (default 24h).
	MaxWorkerLifetime time.Duration
	MaxJobLifetime    time.Duration
	// StopGrace is how long a stopped workload has between SIGTERM and
	// SIGKILL (default 5s).
	StopGrace time.Duration
}

// Capacity is told when a worker or job finishes (the scheduler).
type Capacity interface {
	Wake()
	WorkerFinished(eventID string)
}

// Observer implements api.Workloads on a substrate.
type Observer struct {
	cfg      Config
	svc      *api.Service
	sub      core.Substrate
	capacity Capacity
	log      *slog.Logger

	ctx  context.Context // follows live until it ends
	wg   sync.WaitGroup
	mu   sync.Mutex
	live map[core.WorkloadRef]bool
}

var _ api.Workloads = (*Observer)(nil)

// New builds an observer. Workloads it follows stop being followed when ctx
// ends (Run waits for that).
func New(ctx context.Context, cfg Config, svc *api.Service, sub core.Substrate, capacity Capacity, log *slog.Logger) *Observer {
	if cfg.CleanupDelay == 0 {
		cfg.CleanupDelay = time.Minute
	}
	if cfg.MaxWorkerLifetime <= 0 {
		cfg.MaxWorkerLifetime = 24 * time.Hour
	}
	if cfg.MaxJobLifetime <= 0 {
		cfg.MaxJobLifetime = 24 * time.Hour
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 5 * time.Second
	}
	return &Observer{cfg: cfg, svc: svc, sub: sub, capacity: capacity, log: log,
		ctx: ctx, live: map[core.WorkloadRef]bool{}}
}

// asObserver acts as the observer principal. Phases it reports are the
// platform's bookkeeping, committed without waiting for the disk (see
// core.Relaxed): a machine crash loses at most the latest of them, and the
// next start reconciles.
func (o *Observer) asObserver(ctx context.Context) context.Context {
	return core.Relaxed(auth.With(ctx, auth.Observer()))
}

// StartWorker launches an event's worker and follows it.
func (o *Observer) StartWorker(ctx context.Context, ev *core.Event, token string) error {
	secrets, err := o.svc.ProjectSecrets(ctx, ev.ProjectID)
	if err != nil {
		return err
	}
	namespace := ""
	if p, err := o.svc.Store().Projects().Get(ctx, ev.ProjectID); err == nil && p.Kubernetes != nil {
		namespace = p.Kubernetes.Namespace
	}
	doc, err := json.MarshalIndent(core.NewEventDocument(ev, namespace, secrets, o.cfg.APIAddress, token), "", "  ")
	if err != nil {
		return fmt.Errorf("encoding event.json: %w", err)
	}
	launch := &core.WorkerLaunch{Event: ev, EventDocument: doc, Command: o.cfg.WorkerCommand}
	if c := ev.Worker.Spec.Container; c != nil {
		launch.Env = c.Environment
	}
	started, err := o.sub.StartWorker(ctx, launch)
	if err != nil {
		return err
	}
	ref := core.WorkloadRef{EventID: ev.Metadata.ID}
	o.running(ctx, ref, started)
	o.follow(ref, started, o.timeout(ev.Worker.Spec.TimeoutDuration, o.cfg.MaxWorkerLifetime))
	return nil
}

// StartJob launches a job and follows it.
func (o *Observer) StartJob(ctx context.Context, ev *core.Event, job *core.Job, env api.JobEnvironment) error {
	launch := &core.JobLaunch{
		EventID: ev.Metadata.ID, ProjectID: ev.ProjectID, Job: job, Environment: env,
		UseWorkspace:    ev.Worker.Spec.UseWorkspace,
		AllowPrivileged: ev.Worker.Spec.JobPolicies != nil && ev.Worker.Spec.JobPolicies.AllowPrivileged,
	}
	started, err := o.sub.StartJob(ctx, launch)
	if err != nil {
		return err
	}
	ref := core.WorkloadRef{EventID: ev.Metadata.ID, Job: job.Name}
	o.running(ctx, ref, started)
	o.follow(ref, started, o.timeout(job.Spec.TimeoutDuration, o.cfg.MaxJobLifetime))
	return nil
}

// CleanupWorker removes everything of an event from the substrate.
func (o *Observer) CleanupWorker(ctx context.Context, eventID string) error {
	return o.sub.Cleanup(ctx, eventID)
}

// CleanupJob stops one job.
func (o *Observer) CleanupJob(ctx context.Context, eventID, job string) error {
	return o.sub.Stop(ctx, core.WorkloadRef{EventID: eventID, Job: job}, o.cfg.StopGrace)
}

// RunningWorkers counts live workers.
func (o *Observer) RunningWorkers(ctx context.Context) (int, error) {
	w, _, err := o.sub.Running(ctx)
	return w, err
}

// RunningJobs counts live jobs.
func (o *Observer) RunningJobs(ctx context.Context) (int, error) {
	_, j, err := o.sub.Running(ctx)
	return j, err
}

func (o *Observer) timeout(spec string, max time.Duration) time.Duration {
	if spec == "" {
		return max
	}
	d, err := time.ParseDuration(spec)
	if err != nil || d <= 0 || d > max {
		return max
	}
	return d
}

// running reports RUNNING with the start time. A workload canceled in the
// meantime keeps its terminal phase (409 is expected then).
func (o *Observer) running(ctx context.Context, ref core.WorkloadRef, started time.Time) {
	ctx = o.asObserver(context.WithoutCancel(ctx))
	st := started.UTC()
	var err error
	if ref.IsWorker() {
		err = o.svc.UpdateWorkerStatus(ctx, ref.EventID, core.WorkerStatus{Phase: core.PhaseRunning, Started: &st})
	} else {
		err = o.svc.UpdateJobStatus(ctx, ref.EventID, ref.Job, core.JobStatus{Phase: core.PhaseRunning, Started: &st})
	}
	if err != nil && !core.IsConflict(err) && !core.IsNotFound(err) {
		o.log.Error("reporting RUNNING", "workload", ref.String(), "error", err)
	}
}
