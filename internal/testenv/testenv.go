// Package testenv lets a test or benchmark binary stand in for the brigade
// binary: the local substrate re-executes "itself" to run workers
// (`worker`) and to set up mount namespaces. Tests that run real events
// call Main from TestMain; harnesses call Hooks first thing in main.
package testenv

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/brigadeplatform/brigade/internal/standby"
	"github.com/brigadeplatform/brigade/internal/substrate/local"
	"github.com/brigadeplatform/brigade/internal/worker"
)

// Hooks does what this process was re-executed for, if anything, and exits;
// otherwise it returns at once.
func Hooks() {
	local.MaybeRunMountHelper()
	if len(os.Args) < 2 || os.Args[1] != "worker" {
		return
	}
	run := func(ctx context.Context) int {
		return worker.Run(ctx, worker.Options{
			EventFile: os.Getenv("BRIGADE_EVENT_FILE"), SourceDir: os.Getenv("BRIGADE_SOURCE"),
			NpmCache: os.Getenv("BRIGADE_NPM_CACHE"),
			Stdout:   os.Stdout, Version: "test",
		})
	}
	if standby.Is() {
		os.Exit(worker.Standby(run))
	}
	if os.Getenv("BRIGADE_EVENT_FILE") != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx)
		stop()
		os.Exit(code)
	}
}

// Main runs the tests after Hooks.
func Main(m *testing.M) {
	Hooks()
	os.Exit(m.Run())
}
