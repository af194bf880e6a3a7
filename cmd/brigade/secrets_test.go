package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func runBrigade(args ...string) (string, error) {
	var out bytes.Buffer
	root := newRoot()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestRotateKeyCommand(t *testing.T) {
	dir := t.TempDir()
	srv, stop, err := testenv.Start(server.Config{DataDir: dir, Substrate: "none", RootPassword: "rotate-password"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := testenv.RootClient(t.Context(), srv, "rotate-password")
	if err != nil {
		t.Fatal(err)
	}
	p := &core.Project{Metadata: core.ObjectMeta{ID: "rot"}}
	if _, err := c.CreateProject(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSecret(t.Context(), "rot", core.Secret{Key: "k", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	if _, err := runBrigade("secrets", "rotate-key", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("rotation beside a running server: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out, err := runBrigade("secrets", "rotate-key", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "resealed 1 values") {
		t.Fatalf("rotate-key: %v\n%s", err, out)
	}
	missing := t.TempDir()
	if _, err := runBrigade("secrets", "rotate-key", "--data-dir", missing); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("rotation of a data dir without a database: %v", err)
	}
	if _, err := runBrigade("secrets", "rotate-key", "--data-dir", dir, "--secrets-key", strings.Repeat("0", 64)); err == nil ||
		!strings.Contains(err.Error(), "--new-key") {
		t.Fatalf("rotation with --secrets-key and no --new-key: %v", err)
	}
}
