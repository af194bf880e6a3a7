package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// versionTable records the migrations applied to a database, one row per
// version, in the layout of the goose library that earlier versions of
// this program used to migrate: a database they made goes on from where it
// stands, and goose can still read (and migrate down) one that this code
// made. Version 0 marks the table's creation.
const versionTable = `CREATE TABLE IF NOT EXISTS goose_db_version (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	version_id INTEGER NOT NULL,
	is_applied INTEGER NOT NULL,
	tstamp TIMESTAMP DEFAULT (datetime('now'))
)`

// migration is one file of migrations/: NNNNN_what.sql, whose statements
// to apply follow a "-- +goose Up" line and end at "-- +goose Down".
type migration struct {
	version int64
	file    string
	up      string
}

// loadMigrations reads and orders the embedded migrations.
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

// upSection returns the statements between the Up and Down markers.
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

// migrate applies, in order and each in a transaction of its own with its
// record, the migrations the database lacks. A database that records a
// version this program does not know was migrated by a newer one; one
// that lacks a version older than one it has was migrated out of order:
// both are errors, and nothing is applied.
func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	all, err := loadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("load embedded migrations: %w", err)
	}
	if _, err := db.ExecContext(ctx, versionTable); err != nil {
		return fmt.Errorf("create the migrations table: %w", err)
	}
	// A version's last row says whether it is applied (goose deletes the
	// row of a migration it takes down; older releases of it added one with
	// is_applied = 0).
	recorded := map[int64]bool{}
	rows, err := db.QueryContext(ctx, `SELECT version_id, is_applied FROM goose_db_version ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read the applied migrations: %w", err)
	}
	for rows.Next() {
		var (
			v  int64
			is bool
		)
		if err := rows.Scan(&v, &is); err != nil {
			rows.Close()
			return err
		}
		recorded[v] = is
	}
	if err := rows.Close(); err != nil {
		return err
	}
	applied := map[int64]bool{}
	for v, is := range recorded {
		if is {
			applied[v] = true
		}
	}
	if len(recorded) == 0 {
		if _, err := db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1)`); err != nil {
			return fmt.Errorf("record the migrations table: %w", err)
		}
	}
	known := map[int64]bool{0: true}
	var latest int64
	for _, m := range all {
		known[m.version] = true
		if applied[m.version] {
			latest = m.version
		}
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("the database has migration %d, which this version of brigade does not know: "+
				"it was used by a newer version; run that one", v)
		}
	}
	for _, m := range all {
		if !applied[m.version] && m.version < latest {
			return fmt.Errorf("the database lacks migration %s but has later ones: it was migrated out of order; "+
				"restore it from a backup", m.file)
		}
	}
	for _, m := range all {
		if applied[m.version] {
			continue
		}
		start := time.Now()
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.file, err)
		}
		logger.Info("applied database migration", "version", m.version, "file", m.file, "duration", time.Since(start))
	}
	return nil
}

// apply runs one migration and records it, in one transaction.
func apply(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.up); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, m.version); err != nil {
		return err
	}
	return tx.Commit()
}
