package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/store/postgres/pgtest"
)

func TestMigrateCommand(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		dir := t.TempDir()
		out, err := runBrigade("migrate", "--data-dir", dir, "--log-level", "error")
		if err != nil || !strings.Contains(out, filepath.Join(dir, "brigade.db")) {
			t.Fatalf("migrate: %v\n%s", err, out)
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url := pgtest.Schema(t)
		for range 2 { // the second finds nothing to do
			if out, err := runBrigade("migrate", "--database", url, "--log-level", "error"); err != nil || !strings.Contains(out, "up to date") {
				t.Fatalf("migrate: %v\n%s", err, out)
			}
		}
	})
	t.Run("UnreachablePostgreSQLSaysWhatToCheck", func(t *testing.T) {
		_, err := runBrigade("migrate", "--database", "postgres://u:p@127.0.0.1:1/db?connect_timeout=5", "--log-level", "error")
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "check that the server runs") {
			t.Fatalf("migrate an unreachable database: %v", err)
		}
	})
}
