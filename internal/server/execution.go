package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/exepages"
	"github.com/brigadeplatform/brigade/internal/metrics"
	"github.com/brigadeplatform/brigade/internal/runner"
	"github.com/brigadeplatform/brigade/internal/substrate/docker"
	"github.com/brigadeplatform/brigade/internal/substrate/local"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
	"github.com/brigadeplatform/brigade/internal/worker"
)

// newSubstrate builds the substrate cfg.Substrate names; its workloads'
// lines go to the store's logs.
func newSubstrate(cfg Config, workerCmd []string, store core.Store, svc *api.Service, m *metrics.Metrics, log *slog.Logger) (core.Substrate, error) {
	logs := store.Logs()
	sink := relaxedSink{store: store, redact: svc.RedactLogs, stored: m.LogLinesStored}
	// Workers are host processes on every substrate so far; the server's
	// own worker command can start from standbys (package standby).
	hostWorkers := local.Options{DataDir: cfg.DataDir, Sink: sink, Logger: log}
	if cfg.WorkerCommand == nil && cfg.StandbyWorkers > 0 {
		hostWorkers.StandbyCommand, hostWorkers.StandbyWorkers = workerCmd, cfg.StandbyWorkers
		hostWorkers.StandbyMaxIdle = cfg.MaxWorkers // a burst's workers wait for the next burst a while
	}
	switch cfg.Substrate {
	case "docker":
		workers, err := local.New(hostWorkers)
		if err != nil {
			return nil, fmt.Errorf("preparing the local substrate that runs the docker substrate's workers: %w", err)
		}
		sub, err := docker.New(docker.Options{Workers: workers,
			Host: cfg.DockerHost, Network: cfg.DockerNetwork, DataDir: cfg.DataDir, Sink: sink,
			Logger: log.With("substrate", "docker"),
			// After a restart, re-attached containers' logs resume where the
			// log store's copy ends.
			Resume: docker.StoreResume(logs),
			// A worker image's /var/vcs is cloned as the built-in worker
			// clones its own source.
			Checkout: worker.Checkout,
		})
		if err != nil {
			_ = workers.Close()
			return nil, fmt.Errorf("preparing the docker substrate: %w", err)
		}
		return sub, nil
	case "kubernetes":
		return newKubeSubstrate(cfg, hostWorkers, sink, log)
	default:
		sub, err := local.New(hostWorkers)
		if err != nil {
			return nil, fmt.Errorf("preparing the local substrate: %w", err)
		}
		return sub, nil
	}
}

// newRunner prepares the substrate and the runner that owns the work on it.
func newRunner(ctx context.Context, cfg Config, svc *api.Service, store core.Store, m *metrics.Metrics, log *slog.Logger) (*runner.Runner, core.Substrate, error) {
	cmd := cfg.WorkerCommand
	if len(cmd) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, nil, fmt.Errorf("finding this program to run workers with: %w", err)
		}
		cmd = workerCommand(ctx, exe, cfg.Version, cfg.Commit, log)
	}
	sub, err := newSubstrate(cfg, cmd, store, svc, m, log)
	if err != nil {
		return nil, nil, err
	}
	if err := sub.Check(ctx); err != nil {
		closeSubstrate(sub, log)
		return nil, nil, err
	}
	r := runner.New(runner.Config{
		MaxWorkers: cfg.MaxWorkers, MaxJobs: cfg.MaxJobs, MaxWorkersPerProject: cfg.MaxWorkersPerProject,
		WorkerCommand: cmd, Metrics: m,
		// A burst of work leaves the heap large and the runtime returns it
		// to the system only slowly; an idle server gives it back at once,
		// with what the store caches.
		Idle: func() {
			trimStore(store, log)
			debug.FreeOSMemory()
			releaseCode(log)
		},
	}, svc, store, sub, log.With("component", "runner"))
	return r, sub, nil
}

// trimStore lets a store that caches memory (SQLite's page caches and
// prepared statements) give it back while the server is idle.
func trimStore(store core.Store, log *slog.Logger) {
	t, ok := store.(interface{ Trim(context.Context) error })
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := t.Trim(ctx); err != nil {
		log.Debug("trimming the store's caches", "error", err)
	}
}

// releaseCode drops the idle server's mappings of its own code and
// read-only data (see package exepages): clean pages of the binary that
// the next event maps again as it runs.
func releaseCode(log *slog.Logger) {
	if _, err := exepages.Release(); err != nil {
		log.Debug("releasing the program's code pages", "error", err)
	}
}

// closeSubstrate lets a substrate that follows workloads in the background
// stop doing so before the store closes: docker leaves its containers
// running (the next start re-attaches to them); local, which cannot
// re-attach, stops its processes.
func closeSubstrate(sub core.Substrate, log *slog.Logger) {
	if c, ok := sub.(io.Closer); ok {
		if err := c.Close(); err != nil {
			log.Warn("closing the substrate", "substrate", sub.Name(), "error", err)
		}
	}
}

// relaxedSink stores log lines without waiting for the disk on each batch
// (see core.Relaxed); the next durable commit syncs them. Every line of
// every workload on every substrate comes through it, and has the secrets
// of its project masked before it is stored (api.Service.RedactLogs).
type relaxedSink struct {
	store  core.Store
	redact func(ctx context.Context, eventID string, entries []core.LogEntry) ([]core.LogEntry, error)
	stored func(lines int) // counts the lines stored (metrics)
}

var _ logpump.FinalSink = relaxedSink{}

func (r relaxedSink) Append(ctx context.Context, s core.LogStream, entries []core.LogEntry) error {
	entries, err := r.redact(ctx, s.EventID, entries)
	if err != nil {
		return err
	}
	if err := r.store.Logs().Append(core.Relaxed(ctx), s, entries); err != nil {
		return err
	}
	r.stored(len(entries))
	return nil
}

func (r relaxedSink) Close(ctx context.Context, s core.LogStream) error {
	return r.store.Logs().Close(core.Relaxed(ctx), s)
}

// AppendAndClose stores a finished stream's last lines and closes it in
// one transaction.
func (r relaxedSink) AppendAndClose(ctx context.Context, s core.LogStream, entries []core.LogEntry) error {
	entries, err := r.redact(ctx, s.EventID, entries)
	if err != nil {
		return err
	}
	err = r.store.Tx(core.Relaxed(ctx), func(ctx context.Context) error {
		if err := r.store.Logs().Append(ctx, s, entries); err != nil {
			return err
		}
		return r.store.Logs().Close(ctx, s)
	})
	if err == nil {
		r.stored(len(entries))
	}
	return err
}

// workerCommand is how workers run: the lean brigade-worker beside this
// program when it is there and of the same build (it starts faster, as it
// links nothing but the worker: docs/worker.md), else this program's own
// `worker` command.
func workerCommand(ctx context.Context, exe, version, commit string, log *slog.Logger) []string {
	self := []string{exe, "worker"}
	lean := filepath.Join(filepath.Dir(exe), "brigade-worker")
	if fi, err := os.Stat(lean); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return self
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, lean, "version").Output()
	want := fmt.Sprintf("brigade-worker %s (commit %s)", version, commit)
	if got := strings.TrimSpace(string(out)); err != nil || got != want {
		log.Warn("not running workers with the brigade-worker beside this program: it is another build; rebuild both, or remove it",
			"path", lean, "want", want, "got", got, "error", err)
		return self
	}
	return []string{lean}
}
