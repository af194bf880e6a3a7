//go:build unix

package runner

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// BenchmarkJobLifecycle runs jobs one after another through the runner,
// the service and a real SQLite store, on a substrate that runs nothing:
// the platform's own work per job (create, take, start, report RUNNING,
// report the end), without processes or HTTP. Besides the time per job it
// reports the process's CPU time per job (cpu-µs/op), which a busy
// machine disturbs less.
func BenchmarkJobLifecycle(b *testing.B) {
	h := newHarness(b, Config{}, "p")
	h.start()
	id := h.send("p", 1)[0]
	h.waitPhase(id, "", core.PhaseRunning)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("job-%d", i)
		if err := h.createJob(id, name); err != nil {
			b.Fatal(err)
		}
		ref := core.WorkloadRef{EventID: id, Job: name}
		h.wait("the job started", func() bool { return h.sub.end(ref, core.PhaseSucceeded, false) })
		h.waitPhase(id, name, core.PhaseSucceeded)
		h.sub.forget(ref)
	}
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the CPU time (user and system) the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
