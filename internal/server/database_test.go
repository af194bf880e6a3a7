package server_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/server"
)

// TestUnreachableDatabaseFailsAtStart: a PostgreSQL URL that leads nowhere
// stops the server before it listens, with the host tried and what to
// check, and no password in the message.
func TestUnreachableDatabaseFailsAtStart(t *testing.T) {
	dir := t.TempDir()
	_, err := server.New(t.Context(), server.Config{Substrate: "none", Addr: "127.0.0.1:0", DataDir: dir,
		Database: "postgres://brigade:s3cret@127.0.0.1:1/brigade?connect_timeout=5"}, slog.New(slog.DiscardHandler), io.Discard)
	if err == nil {
		t.Fatal("the server started on an unreachable database")
	}
	for _, want := range []string{"127.0.0.1:1", `database "brigade"`, "check that the server runs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the password", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "brigade.db")); err == nil {
		t.Error("a SQLite file was made beside the PostgreSQL URL")
	}
}
