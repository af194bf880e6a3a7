package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/metrics"
	"github.com/brigadeplatform/brigade/internal/store/postgres"
	"github.com/brigadeplatform/brigade/internal/store/sqlite"
)

// store is what the server needs of its store: the core contract, and what
// the secrets key's checks read.
type store interface {
	core.Store
	SealedCount(ctx context.Context) (int, error)
}

// openStore opens the SQLite file at db, or the PostgreSQL database when
// db is a postgres:// URL (docs/postgres.md). Its errors name the database
// (never a password) and what to check.
func openStore(ctx context.Context, db string, log *slog.Logger, m *metrics.Metrics) (store, error) {
	if postgres.IsURL(db) {
		return postgres.Open(ctx, db, log, postgres.WithObserver(m))
	}
	st, err := sqlite.Open(ctx, db, log, sqlite.WithObserver(m))
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", db, err)
	}
	return st, nil
}
