package testenv

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/store/postgres/pgtest"
)

// Start starts a real brigade server in-process, with a silent logger, on
// a free loopback port unless cfg says otherwise. stop (idempotent) shuts
// it down and reports a failed shutdown. Tests use Server; harnesses, which
// have no testing.TB, use Start.
func Start(cfg server.Config) (srv *server.Server, stop func() error, err error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err = server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var (
		once    sync.Once
		stopErr error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}
	return srv, stop, nil
}

// Server starts a real brigade server in-process for a test (see Start), in
// a fresh data dir unless cfg says otherwise. It stops when the test ends,
// or earlier through the returned (idempotent) stop, which reports a failed
// shutdown.
func Server(t testing.TB, cfg server.Config) (*server.Server, func()) {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Database == "" {
		cfg.Database = Database(t, cfg.DataDir)
	}
	srv, stopServer, err := Start(cfg)
	if err != nil {
		t.Fatalf("starting the server: %v", err)
	}
	stop := func() {
		if err := stopServer(); err != nil {
			t.Errorf("server stopped with: %v", err)
		}
	}
	t.Cleanup(stop)
	return srv, stop
}

// DatabaseEnv set to "postgres" runs test servers on PostgreSQL (a fresh
// schema of BRIGADE_TEST_POSTGRES_URL's database, which must then be set)
// instead of SQLite: `make test` runs the server tests so a second time
// when the URL is set, as in CI.
const DatabaseEnv = "BRIGADE_TEST_SERVER_DATABASE"

// schemas maps a data dir to the PostgreSQL schema of its server, so that
// a server restarted on the same data dir finds its database again.
var schemas sync.Map

// Database is the --database of a test server on dataDir: empty (the data
// dir's SQLite file), or, with DatabaseEnv=postgres, a PostgreSQL schema of
// its own per data dir, dropped when the test that made it ends.
func Database(t testing.TB, dataDir string) string {
	t.Helper()
	switch os.Getenv(DatabaseEnv) {
	case "", "sqlite":
		return ""
	case "postgres":
	default:
		t.Fatalf("%s=%q: want sqlite or postgres", DatabaseEnv, os.Getenv(DatabaseEnv))
	}
	if os.Getenv(pgtest.Env) == "" {
		t.Fatalf("%s=postgres needs %s", DatabaseEnv, pgtest.Env)
	}
	if url, ok := schemas.Load(dataDir); ok {
		return url.(string)
	}
	url := pgtest.Schema(t)
	schemas.Store(dataDir, url)
	return url
}

// RootClient logs in to srv as root with password.
func RootClient(ctx context.Context, srv *server.Server, password string) (*client.Client, error) {
	c := client.New("http://"+srv.Addr(), "")
	tok, err := c.CreateRootSession(ctx, password)
	if err != nil {
		return nil, err
	}
	return c.WithToken(tok.Value), nil
}
