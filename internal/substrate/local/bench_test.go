package local

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/substratetest"
)

// BenchmarkJobOverhead compares a job `true` run through StartJob+Wait
// (folders, log pump, pid file, notes) with a bare exec.Command("true").Run()
// and reports the difference per job as overhead-ns/job.
func BenchmarkJobOverhead(b *testing.B) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true binary on PATH")
	}
	bare := func(n int) time.Duration {
		start := time.Now()
		for range n {
			if err := exec.Command(truePath).Run(); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	s := newTestSubstrate(b, Options{Sink: substratetest.NewMemSink(), NoMountNamespace: true})
	ctx := context.Background()
	b.Cleanup(func() { _ = s.Cleanup(ctx, "ev-bench") })
	job := func(i int) {
		jl := &core.JobLaunch{EventID: "ev-bench", Job: &core.Job{Name: "job-" + strconv.Itoa(i), Spec: core.JobSpec{
			PrimaryContainer: core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "busybox", Command: []string{"true"}}},
		}}}
		if _, err := s.StartJob(ctx, jl); err != nil {
			b.Fatal(err)
		}
		st, err := s.Wait(ctx, core.WorkloadRef{EventID: jl.EventID, Job: jl.Job.Name})
		if err != nil || st.Phase != core.PhaseSucceeded {
			b.Fatalf("%+v %v", st, err)
		}
	}
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			bare(1)
		}
	})
	b.Run("substrate", func(b *testing.B) {
		i := 0
		for b.Loop() {
			job(i)
			i++
		}
		b.StopTimer()
		// Measure bare runs the same number of times, just after, to report
		// the difference.
		perJob := b.Elapsed() / time.Duration(b.N)
		perBare := bare(b.N) / time.Duration(b.N)
		b.ReportMetric(float64(perJob-perBare), "overhead-ns/job")
		b.ReportMetric(float64(perBare), "bare-ns/job")
	})
}
