//go:build unix

package worker

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// oneJobScript is bench/execution's throughput script: one job, awaited.
const oneJobScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("bench.example.com", "run", async event => {
  const j = new Job("true", "debian:12-slim", event);
  j.primaryContainer.command = ["true"];
  await j.run();
});
events.process();`

// BenchmarkRunOneJobEvent is one event of bench/execution's throughput
// figure as a standby worker runs it, without the server: a fresh event
// folder with its event.json, the config folder laid out from the
// project's defaultConfigFiles, the script bundled and run, and its one job
// created and followed through an API that answers at once. ns/op is the
// worker's cost per event once its process is warm.
func BenchmarkRunOneJobEvent(b *testing.B) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Query().Get("watch") != "true" {
			http.Error(w, "unexpected request", http.StatusNotFound)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintln(w, `{"phase":"STARTING"}`)
		fmt.Fprintln(w, `{"phase":"RUNNING"}`)
		fmt.Fprintln(w, `{"phase":"SUCCEEDED"}`)
	}))
	defer api.Close()
	doc := baseDoc()
	doc.Source, doc.Type = "bench.example.com", "run"
	doc.Worker.APIAddress = api.URL
	doc.Worker.LogLevel = "INFO"
	doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": oneJobScript}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	events := b.TempDir()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(events, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o750); err != nil {
			b.Fatal(err)
		}
		file := filepath.Join(dir, "event.json")
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			b.Fatal(err)
		}
		if code := Run(b.Context(), Options{EventFile: file, Stdout: io.Discard, Version: "bench"}); code != 0 {
			b.Fatalf("the worker exited %d", code)
		}
	}
	b.StopTimer()
	// The machine may be shared: CPU time is steadier than elapsed time.
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the user and system CPU time this process has used (the
// fake API's included), in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
