package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/metrics"
)

type fakeQueue map[core.TaskKind]int

func (q fakeQueue) Len(_ context.Context, kind core.TaskKind) (int, error) { return q[kind], nil }

type brokenQueue struct{}

func (brokenQueue) Len(context.Context, core.TaskKind) (int, error) {
	return 0, errors.New("database is locked")
}

func scrape(t *testing.T, m *metrics.Metrics) metrics.Scrape {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	s, err := metrics.Fetch(t.Context(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMetrics(t *testing.T) {
	t.Run("EveryHookShows", func(t *testing.T) {
		m := metrics.New(nil)
		m.WatchQueue(fakeQueue{core.TaskWorker: 7, core.TaskJob: 2})
		m.SetLeader(true)
		m.EventsAccepted("example.com/a", 2)
		m.EventsAccepted("example.com/b", 1)
		m.WorkerPhase(core.PhaseSucceeded)
		m.JobPhase(core.PhaseFailed)
		m.JobPhase(core.JobPhase("NEW_PHASE")) // not known in advance: still counted
		m.Leased(core.TaskJob, 3)
		m.Started(core.TaskWorker, 40*time.Millisecond)
		m.Started(core.TaskJob, 2*time.Millisecond)
		m.StartFailed(core.TaskWorker)
		m.LogLinesStored(5)
		m.TxCommitted(time.Millisecond)
		m.BatchCommitted(3*time.Millisecond, 4)
		s := scrape(t, m)
		for _, c := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"brigade_events_accepted_total", []string{"source", "example.com/a"}, 2},
			{"brigade_events_accepted_total", nil, 3},
			{"brigade_phases_reached_total", []string{"kind", "worker", "phase", "SUCCEEDED"}, 1},
			{"brigade_phases_reached_total", []string{"kind", "job", "phase", "FAILED"}, 1},
			{"brigade_phases_reached_total", []string{"kind", "job", "phase", "NEW_PHASE"}, 1},
			{"brigade_phases_reached_total", []string{"kind", "worker", "phase", "FAILED"}, 0},
			{"brigade_queue_leases_total", []string{"kind", "job"}, 3},
			{"brigade_queue_leases_total", []string{"kind", "worker"}, 0},
			{"brigade_start_failures_total", []string{"kind", "worker"}, 1},
			{"brigade_log_lines_stored_total", nil, 5},
			{"brigade_queue_depth", []string{"kind", "worker"}, 7},
			{"brigade_queue_depth", []string{"kind", "job"}, 2},
			{"brigade_leader", nil, 1},
		} {
			got, ok := s.Value(c.name, c.labels...)
			if !ok || got != c.want {
				t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
			}
		}
		for _, h := range []struct {
			name  string
			count uint64
			sum   float64
		}{
			{"brigade_worker_start_seconds", 1, 0.040},
			{"brigade_job_start_seconds", 1, 0.002},
			{"brigade_store_tx_seconds", 1, 0.001},
			{"brigade_store_commit_seconds", 1, 0.003},
			{"brigade_store_commit_transactions", 1, 4},
		} {
			count, sum, ok := s.Histogram(h.name)
			if !ok || count != h.count || sum < h.sum*0.999 || sum > h.sum*1.001 {
				t.Errorf("%s: count %d sum %v (found %v), want %d and %v", h.name, count, sum, ok, h.count, h.sum)
			}
		}
		for _, name := range []string{"go_goroutines", "process_open_fds", "process_resident_memory_bytes"} {
			if _, ok := s.Value(name); !ok {
				t.Errorf("%s is missing", name)
			}
		}
	})

	t.Run("LeaderCanStepDown", func(t *testing.T) {
		m := metrics.New(nil)
		m.SetLeader(true)
		m.SetLeader(false)
		if v, _ := scrape(t, m).Value("brigade_leader"); v != 0 {
			t.Errorf("brigade_leader = %v after stepping down, want 0", v)
		}
	})

	t.Run("AFailingStoreLeavesTheRest", func(t *testing.T) {
		m := metrics.New(nil)
		m.WatchQueue(brokenQueue{})
		m.LogLinesStored(1)
		s := scrape(t, m) // 200 with what could be read
		if _, ok := s.Value("brigade_queue_depth"); ok {
			t.Error("a queue depth was served although the store failed")
		}
		if v, _ := s.Value("brigade_log_lines_stored_total"); v != 1 {
			t.Errorf("log lines = %v, want 1", v)
		}
	})

	t.Run("NoDefaultRegistry", func(t *testing.T) {
		// Two servers in one process (tests do it) each have their own.
		a, b := metrics.New(nil), metrics.New(nil)
		a.LogLinesStored(3)
		if v, _ := scrape(t, b).Value("brigade_log_lines_stored_total"); v != 0 {
			t.Errorf("a second registry saw the first's count: %v", v)
		}
	})
}

// BenchmarkHotPath is what one accepted one-job event adds to the platform's
// work: its counts, phases, starts and a few transactions.
func BenchmarkHotPath(b *testing.B) {
	m := metrics.New(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.EventsAccepted("example.com/bench", 1)
			for _, p := range []core.WorkerPhase{core.PhasePending, core.PhaseStarting, core.PhaseRunning, core.PhaseSucceeded} {
				m.WorkerPhase(p)
				m.JobPhase(p)
			}
			m.Leased(core.TaskWorker, 1)
			m.Leased(core.TaskJob, 1)
			m.Started(core.TaskWorker, time.Millisecond)
			m.Started(core.TaskJob, time.Millisecond)
			m.LogLinesStored(2)
			for range 8 {
				m.TxCommitted(time.Millisecond)
			}
			m.BatchCommitted(time.Millisecond, 4)
		}
	})
}
