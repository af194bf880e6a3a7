package testenv

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/server"
)

// Server starts a real brigade server in-process for a test: on a free
// loopback port and in a fresh data dir unless cfg says otherwise, with a
// silent logger. It stops when the test ends, or earlier through the
// returned (idempotent) stop, which reports a failed shutdown.
func Server(t testing.TB, cfg server.Config) (*server.Server, func()) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		cancel()
		t.Fatalf("starting the server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return srv, stop
}
