package sqlite

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestMigrateRecordsEachVersionOnce: a new database gets every migration
// and version 0, once; opening it again applies nothing.
func TestMigrateRecordsEachVersionOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "brigade.db")
	s, err := Open(t.Context(), path, testLogger(t))
	must(t, err, "open")
	must(t, s.Close(), "close")
	s, err = Open(t.Context(), path, testLogger(t))
	must(t, err, "open again")
	must(t, s.Close(), "close")

	db := rawDB(t, path)
	fsys, err := loadMigrations(mustSub(t))
	must(t, err, "load")
	var n, distinct, top int64
	must(t, db.QueryRow(`SELECT count(*), count(DISTINCT version_id), max(version_id) FROM goose_db_version`).Scan(&n, &distinct, &top), "count")
	if want := int64(len(fsys) + 1); n != want || distinct != want || top != fsys[len(fsys)-1].version {
		t.Errorf("%d rows, %d versions, latest %d; want %d, %d, %d", n, distinct, top, want, want, fsys[len(fsys)-1].version)
	}
}

// TestMigrateRefusesUnknownOrOutOfOrderVersions: a database migrated by a
// newer version, or one that skipped a migration, is left alone with an
// error that says so.
func TestMigrateRefusesUnknownOrOutOfOrderVersions(t *testing.T) {
	for name, tc := range map[string]struct {
		tamper string
		want   string
	}{
		"newer":      {`INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, 1)`, "does not know"},
		"outOfOrder": {`DELETE FROM goose_db_version WHERE version_id = 2`, "out of order"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "brigade.db")
			s, err := Open(t.Context(), path, testLogger(t))
			must(t, err, "open")
			must(t, s.Close(), "close")
			db := rawDB(t, path)
			_, err = db.Exec(tc.tamper)
			must(t, err, "tamper")
			must(t, db.Close(), "close raw")
			if _, err := Open(t.Context(), path, testLogger(t)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("open: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestMigrationFilesAreChecked: names without a version, files without an
// Up marker and a version used twice are errors; the Up section stops at
// the Down marker.
func TestMigrationFilesAreChecked(t *testing.T) {
	for name, files := range map[string]fstest.MapFS{
		"noVersion": {"init.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}},
		"noUp":      {"00001_a.sql": {Data: []byte("SELECT 1;\n")}},
		"twice":     {"00001_a.sql": {Data: []byte("-- +goose Up\n")}, "0001_b.sql": {Data: []byte("-- +goose Up\n")}},
	} {
		if _, err := loadMigrations(files); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	ms, err := loadMigrations(fstest.MapFS{
		"00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (x);\n-- +goose Down\nDROP TABLE b;\n")},
		"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (x);\n")},
	})
	must(t, err, "load")
	if len(ms) != 2 || ms[0].version != 1 || ms[1].up != "CREATE TABLE b (x);\n" {
		t.Errorf("got %+v", ms)
	}
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?"+writeParams)
	must(t, err, "open raw")
	t.Cleanup(func() { db.Close() })
	return db
}

func mustSub(t *testing.T) fs.FS {
	t.Helper()
	sub, err := fs.Sub(migrations, "migrations")
	must(t, err, "migrations")
	return sub
}
