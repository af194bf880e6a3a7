package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// versionTable records the migrations applied, one row per version, in the
// layout of the goose library (as the SQLite store does): goose can read
// it, and migrate down, too. Version 0 marks the table's creation.
const versionTable = `CREATE TABLE IF NOT EXISTS goose_db_version (
	id serial NOT NULL PRIMARY KEY,
	version_id bigint NOT NULL,
	is_applied boolean NOT NULL,
	tstamp timestamp NULL DEFAULT now()
)`

// migrateLock is the advisory lock that migrations run under, taken per
// schema: replicas that start together wait for the first to migrate, then
// find nothing to do.
const migrateLock = `SELECT pg_advisory_lock(hashtextextended('brigade-migrate:' || current_schema(), 0))`
const migrateUnlock = `SELECT pg_advisory_unlock(hashtextextended('brigade-migrate:' || current_schema(), 0))`

// migration is one file of migrations/: NNNNN_what.sql, whose statements
// follow a "-- +goose Up" line and end at "-- +goose Down".
type migration struct {
	version int64
	file    string
	up      string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must start with a positive version number and '_'", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		up, ok := upSection(string(b))
		if !ok {
			return nil, fmt.Errorf("migration %s: no \"-- +goose Up\" line", name)
		}
		out = append(out, migration{version: v, file: path.Base(name), up: up})
	}
	slices.SortFunc(out, func(a, b migration) int { return int(a.version - b.version) })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", out[i-1].file, out[i].file)
		}
	}
	return out, nil
}

func upSection(text string) (string, bool) {
	var b strings.Builder
	in, found := false, false
	for line := range strings.Lines(text) {
		switch strings.TrimSpace(line) {
		case "-- +goose Up":
			in, found = true, true
			continue
		case "-- +goose Down":
			in = false
			continue
		}
		if in {
			b.WriteString(line)
		}
	}
	return b.String(), found
}

// Migrate brings the schema of the database at url up to date and returns:
// `brigade migrate --database postgres://...`.
func Migrate(ctx context.Context, url string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("migrate PostgreSQL database: the URL is not valid (want postgres://user:password@host:5432/database): %s", redact(err))
	}
	target := describe(cfg.ConnConfig)
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("migrate PostgreSQL database %s: %w", target, err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return unreachable(target, err)
	}
	if err := migrate(ctx, pool, logger); err != nil {
		return fmt.Errorf("migrate PostgreSQL database %s: %w", target, err)
	}
	return nil
}

// migrate applies, in order and each in a transaction of its own with its
// record, the migrations the database lacks, holding the advisory lock on
// one connection throughout. A version this program does not know (a newer
// one migrated the database) or one missing below an applied one is an
// error, and nothing is applied.
func migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	all, err := loadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("load embedded migrations: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, migrateLock); err != nil {
		return fmt.Errorf("wait for the migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), migrateUnlock); err != nil {
			// A lock we cannot release goes with its connection.
			_ = conn.Conn().Close(context.Background())
		}
	}()
	if _, err := conn.Exec(ctx, versionTable); err != nil {
		return fmt.Errorf("create the migrations table: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT version_id, is_applied FROM goose_db_version ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read the applied migrations: %w", err)
	}
	recorded := map[int64]bool{}
	var (
		v  int64
		is bool
	)
	_, err = pgx.ForEachRow(rows, []any{&v, &is}, func() error { recorded[v] = is; return nil })
	if err != nil {
		return fmt.Errorf("read the applied migrations: %w", err)
	}
	if len(recorded) == 0 {
		if _, err := conn.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)`); err != nil {
			return fmt.Errorf("record the migrations table: %w", err)
		}
	}
	known := map[int64]bool{0: true}
	var latest int64
	for _, m := range all {
		known[m.version] = true
		if recorded[m.version] {
			latest = m.version
		}
	}
	for v, is := range recorded {
		if is && !known[v] {
			return fmt.Errorf("the database has migration %d, which this version of brigade does not know: "+
				"it was used by a newer version; run that one", v)
		}
	}
	for _, m := range all {
		if !recorded[m.version] && m.version < latest {
			return fmt.Errorf("the database lacks migration %s but has later ones: it was migrated out of order; "+
				"restore it from a backup", m.file)
		}
	}
	for _, m := range all {
		if recorded[m.version] {
			continue
		}
		start := time.Now()
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.up); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, m.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.file, err)
		}
		logger.Info("applied database migration", "version", m.version, "file", m.file, "duration", time.Since(start))
	}
	return nil
}
