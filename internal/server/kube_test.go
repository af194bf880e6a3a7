package server

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/substrate/local"
)

func TestKubeSettingsValidated(t *testing.T) {
	cfg := Config{DataDir: t.TempDir(), Substrate: "kubernetes"}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("--substrate kubernetes refused: %v", err)
	}
	if cfg.Kube.Workers != KubeWorkersHost {
		t.Errorf("workers default to %q, want %q", cfg.Kube.Workers, KubeWorkersHost)
	}
	cfg = Config{DataDir: t.TempDir(), Substrate: "kubernetes", Kube: KubeConfig{Workers: "vm"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--kube-workers") {
		t.Errorf("--kube-workers vm: got %v, want an error naming the flag", err)
	}
	cfg = Config{DataDir: t.TempDir(), Substrate: "kubernetes", Kube: KubeConfig{Kubeconfig: "/nonexistent/kubeconfig"}}
	if _, err := newKubeSubstrate(cfg, local.Options{}, nil, slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "--kubeconfig") {
		t.Errorf("a missing kubeconfig: got %v, want an error naming --kubeconfig", err)
	}
}
