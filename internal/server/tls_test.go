package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

// startTLS runs a server with --tls-self-signed in dataDir and returns it
// with what it printed.
func startTLS(t *testing.T, dataDir string) (*server.Server, string) {
	srv, printed, _ := startTLSStoppable(t, dataDir)
	return srv, printed
}

// startTLSStoppable is startTLS that also returns how to stop the server
// before the test ends (a data dir serves one server at a time).
func startTLSStoppable(t *testing.T, dataDir string) (*server.Server, string, func()) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{Substrate: "none", Addr: "127.0.0.1:0", DataDir: dataDir,
		RootPassword: rootPassword, TLSSelfSigned: true}, slog.New(slog.DiscardHandler), &out)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return srv, out.String(), stop
}

// TestSelfSignedTLS: the server serves HTTPS with a certificate it made and
// keeps in the data dir; a client that trusts that file gets in, one that
// does not is refused; the printed fingerprint is the certificate's; a
// worker's event document carries the certificate, and the worker's client
// reaches the API with it, verifying, not skipping verification.
func TestSelfSignedTLS(t *testing.T) {
	dir := t.TempDir()
	srv, printed := startTLS(t, dir)
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL %s", srv.URL())
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	certs, err := client.ParseCertificates(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(certs[0].Raw)
	fp := strings.ToUpper(strings.Join(splitPairs(sum[:]), ":"))
	if !strings.Contains(printed, fp) {
		t.Fatalf("printed %q, want fingerprint %s", printed, fp)
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, host := range []string{srv.URL(), strings.Replace(srv.URL(), "127.0.0.1", "localhost", 1)} {
		resp, err := trusting.Get(host + "/v2/ping")
		if err != nil {
			t.Fatalf("%s with the certificate trusted: %v", host, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil {
			t.Fatalf("ping over TLS: %d %v", resp.StatusCode, resp.TLS)
		}
	}
	if _, err := http.Get(srv.URL() + "/v2/ping"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client that does not trust the certificate: %v", err)
	}

	// The worker's side.
	c := client.New(srv.URL(), "", client.WithHTTPClient(trusting))
	tok, err := c.CreateRootSession(t.Context(), rootPassword)
	if err != nil {
		t.Fatal(err)
	}
	root := c.WithToken(tok.Value)
	p := &core.Project{Metadata: core.ObjectMeta{ID: "tls-project"}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "tests", Types: []string{"t"}}},
		WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": ""}}}}
	if _, err := root.CreateProject(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	evs, err := root.CreateEvent(t.Context(), &core.Event{Source: "tests", Type: "t"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("create event: %v %v", evs, err)
	}
	id := evs[0].Metadata.ID
	launch, err := srv.Service().StartWorker(auth.With(t.Context(), auth.Scheduler()), id)
	if err != nil {
		t.Fatal(err)
	}
	var doc core.EventDocument
	if err := json.Unmarshal(launch.EventDocument, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Worker.APIAddress != srv.URL() || doc.Worker.APICertificate != string(certPEM) {
		t.Fatalf("event document: address %q, certificate %q", doc.Worker.APIAddress, doc.Worker.APICertificate)
	}
	worker := client.New(doc.Worker.APIAddress, doc.Worker.APIToken, client.WithServerCert([]byte(doc.Worker.APICertificate)))
	if _, err := worker.GetEvent(t.Context(), id); err != nil {
		t.Fatalf("the worker's client: %v", err)
	}
	// Another server's certificate is not trusted instead.
	otherDir := t.TempDir()
	startTLS(t, otherDir)
	otherPEM, _ := os.ReadFile(filepath.Join(otherDir, "tls.crt"))
	wrong := client.New(doc.Worker.APIAddress, doc.Worker.APIToken, client.WithServerCert(otherPEM))
	if _, err := wrong.GetEvent(t.Context(), id); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client pinned to another certificate: %v", err)
	}
}

// TestSelfSignedTLSIsKept: a restart serves the same certificate.
func TestSelfSignedTLSIsKept(t *testing.T) {
	dir := t.TempDir()
	_, first, stop := startTLSStoppable(t, dir)
	before, _ := os.ReadFile(filepath.Join(dir, "tls.crt"))
	stop()
	_, second := startTLS(t, dir)
	after, _ := os.ReadFile(filepath.Join(dir, "tls.crt"))
	if !bytes.Equal(before, after) || first != second {
		t.Fatalf("the certificate changed on restart:\n%s\n%s", first, second)
	}
}

// TestTLSFlagsChecked: a certificate without its key, or both kinds of TLS
// at once, are refused before anything starts.
func TestTLSFlagsChecked(t *testing.T) {
	for _, cfg := range []server.Config{
		{TLSCert: "c.pem"},
		{TLSKey: "k.pem"},
		{TLSCert: "c.pem", TLSKey: "k.pem", TLSSelfSigned: true},
	} {
		cfg.DataDir = t.TempDir()
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--tls-") {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	cfg := server.Config{Substrate: "none", Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		TLSCert: filepath.Join(t.TempDir(), "missing.pem"), TLSKey: filepath.Join(t.TempDir(), "missing.key")}
	if _, err := server.New(t.Context(), cfg, slog.New(slog.DiscardHandler), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("missing certificate file: %v", err)
	}
}

func splitPairs(b []byte) []string {
	const hexdigits = "0123456789abcdef"
	out := make([]string, len(b))
	for i, c := range b {
		out[i] = string([]byte{hexdigits[c>>4], hexdigits[c&15]})
	}
	return out
}

// TestWorkersOverTLS: with --tls-self-signed, a real worker process and
// its job run an event to the end, talking to the API over verified TLS.
func TestWorkersOverTLS(t *testing.T) {
	rs := startRunning(t, t.TempDir(), server.Config{TLSSelfSigned: true})
	rs.project(t, "over-tls", `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("hello", "debian:12-slim", event);
  j.primaryContainer.command = ["echo", "hello over tls"];
  await j.run();
});
events.process();
`, nil)
	id := rs.event(t, "over-tls")
	if ev := rs.waitWorker(t, id); ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s; its log:\n%s", ev.Worker.Status.Phase, rs.logs(t, id, ""))
	}
	if out := rs.logs(t, id, "hello"); !strings.Contains(out, "hello over tls") {
		t.Fatalf("job log: %q", out)
	}
}
