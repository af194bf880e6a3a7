package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/observer"
	"github.com/brigadeplatform/brigade/internal/scheduler"
	"github.com/brigadeplatform/brigade/internal/substrate/local"
)

// execution is the part of the server that runs events: the substrate, the
// observer that launches and follows workloads on it, and the scheduler.
type execution struct {
	substrate core.Substrate
	observer  *observer.Observer
	scheduler *scheduler.Scheduler
	cancel    context.CancelFunc
}

func newExecution(ctx context.Context, cfg Config, svc *api.Service, apiAddr string, log *slog.Logger) (*execution, error) {
	sub, err := local.New(local.Options{DataDir: cfg.DataDir, Sink: relaxedSink{svc.Store().Logs()}, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("preparing the local substrate: %w", err)
	}
	if err := sub.Check(ctx); err != nil {
		return nil, err
	}
	cmd := cfg.WorkerCommand
	if len(cmd) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding this program to run workers with: %w", err)
		}
		cmd = []string{exe, "worker"}
	}
	sched := scheduler.New(scheduler.Config{
		MaxWorkers: cfg.MaxWorkers, MaxJobs: cfg.MaxJobs, MaxWorkersPerProj: cfg.MaxWorkersPerProject,
	}, svc, sub, log.With("component", "scheduler"))
	obsCtx, cancel := context.WithCancel(context.Background())
	obs := observer.New(obsCtx, observer.Config{
		WorkerCommand: cmd, APIAddress: apiAddr, CleanupDelay: cfg.CleanupDelay,
	}, svc, sub, sched, log.With("component", "observer"))
	svc.SetWorkloads(obs)
	return &execution{substrate: sub, observer: obs, scheduler: sched, cancel: cancel}, nil
}

// run runs the observer and the scheduler until ctx ends.
func (e *execution) run(ctx context.Context, log *slog.Logger) {
	if err := e.observer.Reconcile(ctx); err != nil {
		log.Error("reconciling work left by a previous run", "error", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		e.cancel()
	}()
	go func() {
		defer wg.Done()
		if err := e.scheduler.Run(ctx); err != nil {
			log.Error("scheduler stopped", "error", err)
		}
	}()
	if err := e.observer.Run(ctx); err != nil {
		log.Error("observer stopped", "error", err)
	}
	wg.Wait()
}

// relaxedSink stores log lines without waiting for the disk on each batch
// (see core.Relaxed); the next durable commit syncs them.
type relaxedSink struct{ logs core.LogStore }

func (r relaxedSink) Append(ctx context.Context, s core.LogStream, entries []core.LogEntry) error {
	return r.logs.Append(core.Relaxed(ctx), s, entries)
}

func (r relaxedSink) Close(ctx context.Context, s core.LogStream) error {
	return r.logs.Close(core.Relaxed(ctx), s)
}
