// Package workermain is the worker program: what `brigade worker` runs and
// what the lean `brigade-worker` binary runs. The second links only what a
// worker needs (no store, no server, no substrate clients), so it starts
// in a few milliseconds less on every event (docs/worker.md).
package workermain

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/brigadeplatform/brigade/internal/profiling"
	"github.com/brigadeplatform/brigade/internal/standby"
	"github.com/brigadeplatform/brigade/internal/worker"
)

// Main runs one event's script, as the substrate started this process to
// do (or waits for its event first, as a standby), and returns the exit
// code. Problems go to stderr.
func Main(stdout, stderr io.Writer, version string) int {
	tuneGC()
	stopProfile := profiling.Start("worker")
	defer stopProfile()
	if standby.Is() {
		return worker.Standby(func(ctx context.Context) int {
			return worker.Run(ctx, worker.Options{
				EventFile: os.Getenv("BRIGADE_EVENT_FILE"), SourceDir: os.Getenv("BRIGADE_SOURCE"),
				SourceReady: sourceReady(), NpmCache: os.Getenv("BRIGADE_NPM_CACHE"),
				Stdout: stdout, Version: version,
			})
		})
	}
	file := os.Getenv("BRIGADE_EVENT_FILE")
	if file == "" {
		fmt.Fprintln(stderr, "brigade worker: BRIGADE_EVENT_FILE is not set: the worker is started by brigade server, which points it at the event's event.json")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return worker.Run(ctx, worker.Options{
		EventFile: file, SourceDir: os.Getenv("BRIGADE_SOURCE"), SourceReady: sourceReady(),
		NpmCache: os.Getenv("BRIGADE_NPM_CACHE"),
		Stdout:   stdout, Version: version,
	})
}

// sourceReady reports BRIGADE_SOURCE_READY=1: the substrate checked the
// source out into BRIGADE_SOURCE before the worker started (a worker pod's
// git-init init container).
func sourceReady() bool { return os.Getenv("BRIGADE_SOURCE_READY") == "1" }

// tuneGC trades memory for CPU in a worker, unless GOGC or
// GOMEMLIMIT say otherwise: a script's heap is small and short-lived, and
// with Go's default, collecting it took about 15% of a worker's CPU
// (profiles of 1,000 one-job events). The heap may grow to five times what
// is live, but a soft limit makes the collector work harder as it nears
// 256 MiB, so that a script that holds much does not take five times that.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(256 << 20)
	}
}
