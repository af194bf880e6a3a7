package postgres

import (
	"context"
	"log/slog"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/postgres/pgtest"
	"github.com/brigadeplatform/brigade/internal/store/storetest"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// openTemp opens a store on a fresh schema of the test database.
func openTemp(t testing.TB) *Store {
	t.Helper()
	url := pgtest.Schema(t)
	s, err := Open(context.Background(), url, testLogger(t), WithMaxConns(4))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) core.Store { return openTemp(t) })
}

// listenerPIDs is the backend pid of the listening connection, as a list.
func (s *Store) listenerPIDs() []uint32 { return []uint32{s.listener.pid()} }
