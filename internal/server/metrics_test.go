package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/metrics"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

const metricsOneJob = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  console.log("script running");
  const j = new Job("hello", "debian:12-slim", event);
  j.primaryContainer.command = ["echo"];
  j.primaryContainer.arguments = ["hello from the job"];
  await j.run();
});
events.process();`

// scrapeUntil scrapes url until ok says the page is as wanted, or fails
// the test after a minute with what the last page said.
func scrapeUntil(t *testing.T, url string, what string, ok func(metrics.Scrape) bool) metrics.Scrape {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, err := metrics.Fetch(t.Context(), http.DefaultClient, url)
		if err != nil {
			t.Fatal(err)
		}
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a page that has no change feed
	}
}

func value(s metrics.Scrape, name string, labels ...string) float64 {
	v, _ := s.Value(name, labels...)
	return v
}

func TestMetrics(t *testing.T) {
	t.Run("MoveWithEvents", func(t *testing.T) {
		rs := startRunning(t, t.TempDir(), server.Config{})
		url := rs.srv.URL() + "/metrics"
		before, err := metrics.Fetch(t.Context(), http.DefaultClient, url)
		if err != nil {
			t.Fatal(err)
		}
		if v := value(before, "brigade_leader"); v != 1 {
			t.Errorf("brigade_leader = %v, want 1 on a single server", v)
		}
		for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_open_fds", "process_resident_memory_bytes"} {
			if _, ok := before.Value(name); !ok {
				t.Errorf("runtime or process metric %s is missing", name)
			}
		}
		rs.project(t, "metrics", metricsOneJob, nil)
		const n = 3
		for range n {
			id := rs.event(t, "metrics")
			if ev := rs.waitWorker(t, id); ev.Worker.Status.Phase != core.PhaseSucceeded {
				t.Fatalf("event %s ended %s", id, ev.Worker.Status.Phase)
			}
		}
		// Phases and log lines are counted once their commit returns to
		// whoever made it, which a reader of the API may see a moment
		// before: wait until every counter has reached its figure, then
		// check that none went past it.
		s := scrapeUntil(t, url, "every phase counted and log lines stored", func(s metrics.Scrape) bool {
			for _, kind := range []string{"worker", "job"} {
				for _, phase := range []string{"PENDING", "STARTING", "RUNNING", "SUCCEEDED"} {
					if value(s, "brigade_phases_reached_total", "kind", kind, "phase", phase) < n {
						return false
					}
				}
				if value(s, "brigade_queue_leases_total", "kind", kind) < n {
					return false
				}
			}
			for _, h := range []string{"brigade_worker_start_seconds", "brigade_job_start_seconds"} {
				if count, _, _ := s.Histogram(h); count < n {
					return false
				}
			}
			return value(s, "brigade_log_lines_stored_total") >= 2*n
		})
		checks := []struct {
			what string
			got  float64
			want float64
		}{
			{"events accepted from brigade.sh/cli", value(s, "brigade_events_accepted_total", "source", "brigade.sh/cli"), n},
			{"workers PENDING", value(s, "brigade_phases_reached_total", "kind", "worker", "phase", "PENDING"), n},
			{"workers STARTING", value(s, "brigade_phases_reached_total", "kind", "worker", "phase", "STARTING"), n},
			{"workers RUNNING", value(s, "brigade_phases_reached_total", "kind", "worker", "phase", "RUNNING"), n},
			{"workers SUCCEEDED", value(s, "brigade_phases_reached_total", "kind", "worker", "phase", "SUCCEEDED"), n},
			{"jobs PENDING", value(s, "brigade_phases_reached_total", "kind", "job", "phase", "PENDING"), n},
			{"jobs STARTING", value(s, "brigade_phases_reached_total", "kind", "job", "phase", "STARTING"), n},
			{"jobs RUNNING", value(s, "brigade_phases_reached_total", "kind", "job", "phase", "RUNNING"), n},
			{"jobs SUCCEEDED", value(s, "brigade_phases_reached_total", "kind", "job", "phase", "SUCCEEDED"), n},
			{"workers FAILED", value(s, "brigade_phases_reached_total", "kind", "worker", "phase", "FAILED"), 0},
			{"worker tasks leased", value(s, "brigade_queue_leases_total", "kind", "worker"), n},
			{"job tasks leased", value(s, "brigade_queue_leases_total", "kind", "job"), n},
			{"failed starts", value(s, "brigade_start_failures_total"), 0},
			{"worker tasks queued", value(s, "brigade_queue_depth", "kind", "worker"), 0},
			{"job tasks queued", value(s, "brigade_queue_depth", "kind", "job"), 0},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
			}
		}
		for _, h := range []string{"brigade_worker_start_seconds", "brigade_job_start_seconds"} {
			if count, sum, ok := s.Histogram(h); !ok || count != n || sum <= 0 {
				t.Errorf("%s: count %d sum %v (found %v), want %d starts taking some time", h, count, sum, ok, n)
			}
		}
		for _, h := range []string{"brigade_store_tx_seconds", "brigade_store_commit_seconds", "brigade_store_commit_transactions"} {
			c0, _, _ := before.Histogram(h)
			if c1, _, ok := s.Histogram(h); !ok || c1 <= c0 {
				t.Errorf("%s did not move: %d then %d (found %v)", h, c0, c1, ok)
			}
		}
	})

	t.Run("OwnListenerAndQueueDepth", func(t *testing.T) {
		// No runner: the events wait on the queue.
		srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: rootPassword, MetricsAddr: "127.0.0.1:0"})
		if srv.MetricsAddr() == "" {
			t.Fatal("no metrics listener")
		}
		expectNotServed(t, srv.URL()+"/metrics")
		c, err := testenv.RootClient(t.Context(), srv, rootPassword)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateProject(t.Context(), &core.Project{Metadata: core.ObjectMeta{ID: "waits"}, Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "example.com/queue", Types: []string{"*"}}},
			WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": "console.log(1)"}},
		}}); err != nil {
			t.Fatal(err)
		}
		for range 4 {
			if _, err := c.CreateEvent(t.Context(), &core.Event{Source: "example.com/queue", Type: "t"}); err != nil {
				t.Fatal(err)
			}
		}
		s, err := metrics.Fetch(t.Context(), http.DefaultClient, "http://"+srv.MetricsAddr()+"/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if v := value(s, "brigade_queue_depth", "kind", "worker"); v != 4 {
			t.Errorf("worker queue depth %v, want the 4 events no runner takes", v)
		}
		if v := value(s, "brigade_events_accepted_total", "source", "example.com/queue"); v != 4 {
			t.Errorf("events accepted %v, want 4", v)
		}
	})

	t.Run("Off", func(t *testing.T) {
		srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: rootPassword, MetricsAddr: server.MetricsOff})
		if srv.MetricsAddr() != "" {
			t.Errorf("a metrics listener at %s, want none", srv.MetricsAddr())
		}
		expectNotServed(t, srv.URL()+"/metrics")
	})

	t.Run("BadAddressRefused", func(t *testing.T) {
		cfg := server.Config{MetricsAddr: "localhost"}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
			t.Fatalf("Validate: %v, want an error naming --metrics-addr", err)
		}
	})
}

// expectNotServed checks that url answers 404 with the API's error body.
func expectNotServed(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s: %s, want 404 when /metrics is served elsewhere or off", url, resp.Status)
	}
}
