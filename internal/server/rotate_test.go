package server_test

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/seal"
	"github.com/brigadeplatform/brigade/internal/secretskey"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

const rotatedSecret = "before-and-after-rotation"

// checkSecretScript says whether the worker, and a job given the secret in
// its environment, see the secret's value.
const checkSecretScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const ok = event.project.secrets.token === "` + rotatedSecret + `";
  console.log(ok ? "worker sees the secret" : "worker sees another value");
  const j = new Job("check", "debian:12-slim", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", '[ "$TOK" = "` + rotatedSecret + `" ] && echo "job sees the secret"'];
  j.primaryContainer.environment = {TOK: event.project.secrets.token};
  await j.run();
});
events.process();`

// runCheck runs an event of project "rot" and asserts that its worker and
// job saw the secret.
func (rs *runningServer) runCheck(t *testing.T) string {
	t.Helper()
	id := rs.event(t, "rot")
	if ev := rs.waitWorker(t, id); ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s:\n%s", ev.Worker.Status.Phase, rs.logs(t, id, ""))
	}
	if w, j := rs.logs(t, id, ""), rs.logs(t, id, "check"); !strings.Contains(w, "worker sees the secret") ||
		!strings.Contains(j, "job sees the secret") {
		t.Fatalf("worker log:\n%s\njob log:\n%s", w, j)
	}
	return id
}

func keyFile(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, secretskey.FileName))
	if err != nil {
		t.Fatal(err)
	}
	k, err := seal.ParseKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSecretsKeyRotation(t *testing.T) {
	if os.Getenv(testenv.DatabaseEnv) == "postgres" {
		t.Skip("brigade secrets rotate-key reseals the SQLite store only (docs/postgres.md)")
	}
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rs := startRunning(t, dir, server.Config{})
	rs.project(t, "rot", checkSecretScript, nil)
	if err := rs.c.SetSecret(t.Context(), "rot", core.Secret{Key: "token", Value: rotatedSecret}); err != nil {
		t.Fatal(err)
	}
	first := rs.runCheck(t)
	oldKey := keyFile(t, dir)

	if _, _, err := secretskey.Rotate(t.Context(), secretskey.RotateOptions{DataDir: dir}, log); err == nil ||
		!strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("a rotation beside a running server: %v", err)
	}
	rs.stop()
	id, n, err := secretskey.Rotate(t.Context(), secretskey.RotateOptions{DataDir: dir}, log)
	if err != nil {
		t.Fatal(err)
	}
	newKey := keyFile(t, dir)
	if n != 2 || id != seal.KeyID(newKey) || id == seal.KeyID(oldKey) {
		t.Fatalf("resealed %d values (want the secret and the job's environment), new key id %s", n, id)
	}
	if _, err := os.Stat(filepath.Join(dir, secretskey.FileName+".new")); !os.IsNotExist(err) {
		t.Fatalf("the new key was left beside the key file: %v", err)
	}

	t.Run("WorkersStillSeeTheSecret", func(t *testing.T) {
		rs := startRunning(t, dir, server.Config{})
		defer rs.stop()
		rs.runCheck(t)
		// The earlier job's environment was resealed too.
		sealed, err := rs.srv.Store().Jobs().Environment(t.Context(), first, "check")
		if err != nil {
			t.Fatal(err)
		}
		s, _ := seal.New(newKey)
		if _, err := s.Open(sealed, seal.JobEnvAD(first, "check")); err != nil {
			t.Fatalf("the job environment of the earlier event: %v", err)
		}
	})
	t.Run("AnotherKeyIsRefusedAtStart", func(t *testing.T) {
		_, _, err := testenv.Start(server.Config{DataDir: dir, Substrate: "none", RootPassword: rootPassword,
			SecretsKey: hex.EncodeToString(oldKey)})
		if err == nil || !strings.Contains(err.Error(), "sealed with the key with id "+id) {
			t.Fatalf("a server given the old key: %v", err)
		}
	})
	t.Run("ACrashAfterTheCommitIsFinishedAtStart", func(t *testing.T) {
		// The state a crash between the commit and the rename leaves: the
		// old key in the file, the new one beside it.
		if err := seal.WriteKeyFile(filepath.Join(dir, secretskey.FileName+".new"), newKey); err != nil {
			t.Fatal(err)
		}
		if err := seal.WriteKeyFile(filepath.Join(dir, secretskey.FileName), oldKey); err != nil {
			t.Fatal(err)
		}
		rs := startRunning(t, dir, server.Config{})
		defer rs.stop()
		rs.runCheck(t)
		if got := keyFile(t, dir); seal.KeyID(got) != id {
			t.Fatal("the new key was not moved into place")
		}
	})
	t.Run("ACrashBeforeTheCommitKeepsTheOldKey", func(t *testing.T) {
		stray := make([]byte, seal.KeySize)
		stray[0] = 1
		if err := seal.WriteKeyFile(filepath.Join(dir, secretskey.FileName+".new"), stray); err != nil {
			t.Fatal(err)
		}
		rs := startRunning(t, dir, server.Config{})
		defer rs.stop()
		rs.runCheck(t)
		if _, err := os.Stat(filepath.Join(dir, secretskey.FileName+".new")); !os.IsNotExist(err) {
			t.Fatalf("the unused new key of an interrupted rotation was kept: %v", err)
		}
	})
	t.Run("WithKeysGivenByFlag", func(t *testing.T) {
		cur := hex.EncodeToString(keyFile(t, dir))
		next := strings.Repeat("ab", seal.KeySize)
		ctx := context.Background()
		if _, _, err := secretskey.Rotate(ctx, secretskey.RotateOptions{DataDir: dir, OldKey: cur}, log); err == nil {
			t.Fatal("a rotation with --secrets-key and no --new-key was accepted")
		}
		if _, _, err := secretskey.Rotate(ctx, secretskey.RotateOptions{DataDir: dir, OldKey: cur, NewKey: next}, log); err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(keyFile(t, dir)) != cur {
			t.Fatal("a rotation with keys given by flag changed the key file")
		}
		rs := startRunning(t, dir, server.Config{SecretsKey: next})
		defer rs.stop()
		rs.runCheck(t)
	})
}
