//go:build linux

package local

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/substrate/substratetest"
)

// BenchmarkEventFolders measures an event's folders: prepare (as for a
// job: the folder, pids/, workspace/, source/) then Cleanup, with no
// workload. "mkdir" is the bare baseline, os.Mkdir of the four and
// os.RemoveAll; "new" is the substrate without spares, as before them;
// "spare" reuses a scrubbed folder every time (the sweep a spare waits
// for is taken as done, as on a busy server where one runs every 200 ms);
// "gated" waits for real sweeps, so in this tight loop most events get
// new folders (reused-% says how many did not). cpu-ns/op is the
// process's CPU time (user and system, the sweeper's included) per event:
// wall time on a shared machine says little.
func BenchmarkEventFolders(b *testing.B) {
	ctx := context.Background()
	b.Run("mkdir", func(b *testing.B) {
		events := filepath.Join(b.TempDir(), "events")
		if err := os.Mkdir(events, 0o750); err != nil {
			b.Fatal(err)
		}
		cpu := cpuTime(b)
		for b.Loop() {
			dir := filepath.Join(events, "ev-bench")
			for _, d := range []string{dir, filepath.Join(dir, "pids"), filepath.Join(dir, "workspace"), filepath.Join(dir, "source")} {
				if err := os.Mkdir(d, 0o750); err != nil {
					b.Fatal(err)
				}
			}
			if err := os.RemoveAll(dir); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
	})
	run := func(b *testing.B, s *Substrate) {
		taken := 0
		cpu := cpuTime(b)
		for b.Loop() {
			before := s.spares.len()
			if _, err := s.prepare("ev-bench", true); err != nil {
				b.Fatal(err)
			}
			if s.spares.len() < before {
				taken++
			}
			if err := s.Cleanup(ctx, "ev-bench"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(100*float64(taken)/float64(b.N), "reused-%")
	}
	b.Run("new", func(b *testing.B) {
		s := newTestSubstrate(b, Options{Sink: substratetest.NewMemSink(), NoMountNamespace: true})
		s.spares.close()
		run(b, s)
	})
	b.Run("spare", func(b *testing.B) {
		s := newTestSubstrate(b, Options{Sink: substratetest.NewMemSink(), NoMountNamespace: true})
		s.spares.swept = func(uint64) bool { return true }
		run(b, s)
	})
	b.Run("gated", func(b *testing.B) {
		run(b, newTestSubstrate(b, Options{Sink: substratetest.NewMemSink(), NoMountNamespace: true}))
	})
}

// cpuTime is the CPU time the process used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
