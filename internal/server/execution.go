package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/observer"
	"github.com/brigadeplatform/brigade/internal/scheduler"
	"github.com/brigadeplatform/brigade/internal/substrate/docker"
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

// newSubstrate builds the substrate cfg.Substrate names.
func newSubstrate(cfg Config, svc *api.Service, log *slog.Logger) (core.Substrate, error) {
	sink := relaxedSink{svc.Store().Logs()}
	switch cfg.Substrate {
	case "docker":
		sub, err := docker.New(docker.Options{
			Host: cfg.DockerHost, Network: cfg.DockerNetwork, DataDir: cfg.DataDir, Sink: sink,
			Logger: log.With("substrate", "docker"),
			// After a restart, re-attached containers' logs resume where the
			// log store's copy ends.
			Resume: docker.StoreResume(svc.Store().Logs()),
		})
		if err != nil {
			return nil, fmt.Errorf("preparing the docker substrate: %w", err)
		}
		return sub, nil
	default:
		sub, err := local.New(local.Options{DataDir: cfg.DataDir, Sink: sink, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("preparing the local substrate: %w", err)
		}
		return sub, nil
	}
}

func newExecution(ctx context.Context, cfg Config, svc *api.Service, apiAddr string, log *slog.Logger) (*execution, error) {
	sub, err := newSubstrate(cfg, svc, log)
	if err != nil {
		return nil, err
	}
	if err := sub.Check(ctx); err != nil {
		closeSubstrate(sub, log)
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
	closeSubstrate(e.substrate, log)
}

// closeSubstrate lets a substrate that follows workloads in the background
// (docker) stop doing so before the store closes; the workloads go on and
// the next start re-attaches to them.
func closeSubstrate(sub core.Substrate, log *slog.Logger) {
	if c, ok := sub.(io.Closer); ok {
		if err := c.Close(); err != nil {
			log.Warn("closing the substrate", "substrate", sub.Name(), "error", err)
		}
	}
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
