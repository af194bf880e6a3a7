package js

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// instantHost answers every call at once: what is measured is the runtime.
type instantHost struct{}

func (instantHost) CreateJob(context.Context, core.Job, bool) error { return nil }
func (instantHost) WaitJob(_ context.Context, _ string, phase func(core.JobPhase)) (core.JobPhase, error) {
	phase(core.PhaseRunning)
	phase(core.PhaseSucceeded)
	return core.PhaseSucceeded, nil
}
func (instantHost) JobLogs(context.Context, string) (string, error) { return "", nil }
func (instantHost) SetSummary(context.Context, string) error        { return nil }

// BenchmarkJobOverhead measures what one sequential job costs inside the
// runtime (Job object, JSON body, strict decode, two host goroutines, phase
// callbacks, promise settling, log line): a script runs jobs back to back
// against a host that answers instantly. ns/job is the cost per job with
// the fixed cost of a run (esbuild bundle, fresh VM, prelude) subtracted,
// using a run with no jobs as the baseline.
func BenchmarkJobOverhead(b *testing.B) {
	const jobs = 200
	script := func(n int) string {
		return fmt.Sprintf(`
const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  for (let i = 0; i < %d; i++) {
    const job = new Job("job-" + i, "alpine", event);
    job.primaryContainer.command = ["true"];
    await job.run();
  }
});
events.process();
`, n)
	}
	ev := map[string]any{"id": "e", "source": "brigade.sh/cli", "type": "exec", "project": map[string]any{"id": "p"}}
	run := func(b *testing.B, n int) {
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "brigade.js"), []byte(script(n)), 0o644); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			code, err := Run(context.Background(), Options{Dir: dir, Event: ev, Host: instantHost{}})
			if err != nil || code != 0 {
				b.Fatalf("Run = %d, %v", code, err)
			}
		}
	}
	var base float64
	b.Run("Baseline", func(b *testing.B) {
		run(b, 0)
		base = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run(fmt.Sprintf("Jobs%d", jobs), func(b *testing.B) {
		run(b, jobs)
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric((per-base)/jobs, "ns/job")
	})
}

// BenchmarkConsoleLog measures one console.log call of a short string, the
// worker log's hot path, with the output discarded: ns/op is per call.
func BenchmarkConsoleLog(b *testing.B) {
	dir := b.TempDir()
	script := fmt.Sprintf(`for (let i = 0; i < %d; i++) console.log("line " + i);`, b.N)
	if err := os.WriteFile(filepath.Join(dir, "brigade.js"), []byte(script), 0o644); err != nil {
		b.Fatal(err)
	}
	ev := map[string]any{"id": "e", "source": "brigade.sh/cli", "type": "exec", "project": map[string]any{"id": "p"}}
	b.ResetTimer()
	code, err := Run(context.Background(), Options{Dir: dir, Event: ev, Host: instantHost{}, Stdout: io.Discard})
	if err != nil || code != 0 {
		b.Fatalf("Run = %d, %v", code, err)
	}
}
