// Package substratetest is the conformance suite every core.Substrate
// passes. A substrate's tests call Run with a Harness:
//
//	func TestConformance(t *testing.T) {
//		substratetest.Run(t, substratetest.Harness{
//			New: func(t *testing.T, sink core.LogSink) core.Substrate { ... },
//			Image: "busybox:1.36",
//		})
//	}
//
// Every workload the suite starts is a POSIX `sh -c '...'` script that uses
// only sh, echo, sleep, cat, printf, seq, ls, test, pwd and env, so the same
// cases run on host processes and in a small busybox image. The suite never
// sleeps to synchronise: Wait is the synchronisation, and where a case must
// know a workload reached a point it waits for a log line (MemSink.WaitFor
// is woken by every Append). It asserts no timings.
//
// Lines a substrate adds to a log itself (e.g. "the image is not pulled")
// must start with "[brigade] "; the suite ignores them.
package substratetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// NotePrefix starts every line a substrate writes into a log by itself.
const NotePrefix = "[brigade] "

// Harness is what a substrate gives the suite.
type Harness struct {
	// New returns a fresh substrate that writes every log line to sink.
	// The suite calls Cleanup for each event it creates; New registers
	// t.Cleanup for anything else the substrate holds.
	New func(t *testing.T, sink core.LogSink) core.Substrate
	// Image is the image every job container names (a busybox-like image
	// with sh on its PATH).
	Image string
	// WorkerCommand turns a POSIX sh script into WorkerLaunch.Command.
	// Default: []string{"sh", "-c", script}.
	WorkerCommand func(script string) []string
	// ProcessGone reports whether a process id that a job printed (from
	// `$!` in its shell) no longer runs. Nil skips that check (container
	// process ids mean nothing outside the container). Host-process
	// substrates use HostProcessGone. It may wait a bounded time for an
	// exit already under way: the kernel tears a killed process down after
	// it has closed its files, so the end of a log can come first.
	ProcessGone func(pid int) bool
	// WorkerProcessGone is ProcessGone for the process ids workers print,
	// when they differ: a substrate whose workers are host processes but
	// whose jobs are containers (kubernetes with Options.Workers) checks
	// its workers' with HostProcessGone. Default: ProcessGone.
	WorkerProcessGone func(pid int) bool
	// SeparateStderr says stdout and stderr travel separately (e.g. docker
	// without a TTY), so only the order within each is checked.
	SeparateStderr bool
	// JoinsUnterminatedLine says a last line without a newline may come
	// joined to a line written after it on the other stream: Kubernetes'
	// log API joins each partial entry of the kubelet's log to the next
	// one, whichever stream that came from. The case that ends stdout
	// without a newline then checks that the line came intact and in
	// order, not that it ends its entry.
	JoinsUnterminatedLine bool
	// KnownGaps names cases (as in Run's subtests, e.g. "Job/StopKillsProcessTree")
	// that this substrate is known to fail, each with why: they are
	// skipped with that reason, so that the gap shows in every run
	// until it is fixed and its entry removed.
	KnownGaps map[string]string
	// Timeout bounds each case (default 2 minutes).
	Timeout time.Duration
}

// Run runs every conformance case as a subtest of t.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("substratetest.Harness.New is nil: it must return a fresh substrate")
	}
	if h.Image == "" {
		t.Fatal("substratetest.Harness.Image is empty: name a small image with sh (e.g. busybox)")
	}
	if h.WorkerCommand == nil {
		h.WorkerCommand = func(script string) []string { return []string{"sh", "-c", script} }
	}
	if h.WorkerProcessGone == nil {
		h.WorkerProcessGone = h.ProcessGone
	}
	if h.Timeout <= 0 {
		h.Timeout = 2 * time.Minute
	}
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := h.KnownGaps[c.name]; ok {
				t.Skipf("a known gap of this substrate: %s", why)
			}
			c.run(newEnv(t, h))
		})
	}
}

type testCase struct {
	name string
	run  func(e *env)
}

func cases() []testCase {
	var all []testCase
	all = append(all, jobCases()...)
	all = append(all, stopCases()...)
	all = append(all, sharingCases()...)
	all = append(all, workloadCases()...)
	all = append(all, workerCases()...)
	return all
}

// env is one case's world: a fresh substrate and sink.
type env struct {
	t    *testing.T
	h    Harness
	sink *MemSink
	sub  core.Substrate
	ctx  context.Context
}

func newEnv(t *testing.T, h Harness) *env {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	t.Cleanup(cancel)
	sink := NewMemSink()
	e := &env{t: t, h: h, sink: sink, ctx: ctx}
	// Registered first, so it runs last: after every event's Cleanup.
	t.Cleanup(func() {
		for _, v := range sink.Violations() {
			t.Errorf("log sink protocol: %s", v)
		}
	})
	e.sub = h.New(t, sink)
	if e.sub == nil {
		t.Fatal("Harness.New returned a nil substrate")
	}
	return e
}

// event returns a fresh event id whose workloads are cleaned up at the end.
func (e *env) event() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := "ev-" + hex.EncodeToString(b)
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), e.h.Timeout)
		defer cancel()
		if err := e.sub.Cleanup(ctx, id); err != nil {
			e.t.Errorf("Cleanup(%s): %v", id, err)
		}
	})
	return id
}

func shContainer(image, script string) core.JobContainerSpec {
	return core.JobContainerSpec{ContainerSpec: core.ContainerSpec{
		Image:   image,
		Command: []string{"sh"},
		// The script is an argument so that the command/arguments split is
		// exercised too.
		Arguments: []string{"-c", script},
	}}
}

// job builds a launch of a job whose primary container runs script.
func (e *env) job(eventID, name, script string) *core.JobLaunch {
	return &core.JobLaunch{
		EventID:   eventID,
		ProjectID: "conformance",
		Job: &core.Job{Name: name, Spec: core.JobSpec{
			PrimaryContainer: shContainer(e.h.Image, script),
		}},
		Environment: map[string]map[string]string{},
	}
}

func jobRef(jl *core.JobLaunch) core.WorkloadRef {
	return core.WorkloadRef{EventID: jl.EventID, Job: jl.Job.Name}
}

func jobStream(jl *core.JobLaunch) core.LogStream {
	return core.LogStream{EventID: jl.EventID, Job: jl.Job.Name, Container: jl.Job.Name}
}

func workerStream(eventID string) core.LogStream {
	return core.LogStream{EventID: eventID, Container: "worker"}
}

func (e *env) startJob(jl *core.JobLaunch) {
	e.t.Helper()
	started, err := e.sub.StartJob(e.ctx, jl)
	if err != nil {
		e.t.Fatalf("StartJob(%s): %v", jobRef(jl), err)
	}
	if started.IsZero() {
		e.t.Errorf("StartJob(%s) returned a zero start time", jobRef(jl))
	}
}

// wait waits for a workload and checks that its log streams were complete
// when Wait returned.
func (e *env) wait(ref core.WorkloadRef, streams ...core.LogStream) core.ExitStatus {
	e.t.Helper()
	st, err := e.sub.Wait(e.ctx, ref)
	if err != nil {
		e.t.Fatalf("Wait(%s): %v", ref, err)
	}
	for _, s := range streams {
		if !e.sink.Closed(s) {
			e.t.Errorf("Wait(%s) returned before %s was closed", ref, fmtStream(s))
		}
	}
	if !st.Phase.IsTerminal() {
		e.t.Errorf("Wait(%s) returned phase %q, which is not terminal", ref, st.Phase)
	}
	if st.Ended.IsZero() {
		e.t.Errorf("Wait(%s) returned a zero end time", ref)
	}
	return st
}

// runJob starts a job, waits for it and returns its status and lines.
func (e *env) runJob(jl *core.JobLaunch) (core.ExitStatus, []string) {
	e.t.Helper()
	e.startJob(jl)
	st := e.wait(jobRef(jl), jobStream(jl))
	return st, e.lines(jobStream(jl))
}

// lines returns a stream's lines without the substrate's own notes.
func (e *env) lines(s core.LogStream) []string {
	var out []string
	for _, l := range e.sink.Lines(s) {
		if !strings.HasPrefix(l, NotePrefix) {
			out = append(out, l)
		}
	}
	return out
}

func (e *env) expectPhase(what string, st core.ExitStatus, phase core.WorkerPhase, code int) {
	e.t.Helper()
	if st.Phase != phase || st.ExitCode != code {
		e.t.Errorf("%s ended %s with exit code %d (reason %q); want %s with exit code %d",
			what, st.Phase, st.ExitCode, st.Reason, phase, code)
	}
}

func (e *env) expectLines(s core.LogStream, got, want []string) {
	e.t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
		e.t.Errorf("%s:\n got %s\nwant %s", fmtStream(s), abbreviate(got), abbreviate(want))
	}
}

func (e *env) running() (int, int) {
	e.t.Helper()
	w, j, err := e.sub.Running(e.ctx)
	if err != nil {
		e.t.Fatalf("Running: %v", err)
	}
	return w, j
}

func (e *env) list() map[core.WorkloadRef]bool {
	e.t.Helper()
	refs, err := e.sub.List(e.ctx)
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	m := map[core.WorkloadRef]bool{}
	for _, r := range refs {
		m[r] = true
	}
	return m
}

// grandchildPID waits for the "grandchild <pid>" line a stop case prints.
func (e *env) grandchildPID(s core.LogStream) int {
	e.t.Helper()
	line, err := e.sink.WaitForLine(e.ctx, s, "grandchild ")
	if err != nil {
		e.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "grandchild "))
	if err != nil {
		e.t.Fatalf("cannot read a pid from %q: %v", line, err)
	}
	return pid
}

func (e *env) expectGone(pid int, what string) {
	e.t.Helper()
	if e.h.ProcessGone != nil && !e.h.ProcessGone(pid) {
		e.t.Errorf("%s (pid %d) still runs after the workload ended", what, pid)
	}
}

// expectWorkerGone is expectGone for a process a worker started.
func (e *env) expectWorkerGone(pid int, what string) {
	e.t.Helper()
	if e.h.WorkerProcessGone != nil && !e.h.WorkerProcessGone(pid) {
		e.t.Errorf("%s (pid %d) still runs after the worker ended", what, pid)
	}
}
