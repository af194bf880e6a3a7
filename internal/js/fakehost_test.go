package js

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// fakeHost is a Host whose outcomes are set per job. Unless told otherwise
// a job is created, reports PENDING, RUNNING and SUCCEEDED, and its log is
// empty. Every method is safe for concurrent use.
type fakeHost struct {
	// Phases is each job's final phase (default SUCCEEDED). A non-terminal
	// phase makes WaitJob end early (a closed status stream).
	Phases map[string]core.JobPhase
	// After holds a job's terminal phase back until the named jobs have
	// been created: deterministic ordering of concurrent work, no sleeps.
	After map[string][]string
	// Delays add latency to a job's WaitJob (simulated, not for ordering).
	Delays map[string]time.Duration
	// CreateErrors and WaitErrors make those calls fail with the text.
	CreateErrors map[string]string
	WaitErrors   map[string]string
	// Logs is each job's log for JobLogs.
	Logs map[string]string
	// Block makes WaitJob of these jobs wait for ctx to end.
	Block map[string]bool
	// ValidateNames rejects names the API would (docs/api.md, "Request validation").
	ValidateNames bool
	// SummaryError makes SetSummary fail.
	SummaryError string
	// Exec runs each job's primary command (command + arguments, with the
	// job's environment and PATH) on this machine when it is waited for:
	// its exit code picks SUCCEEDED or FAILED (unless Phases says
	// otherwise) and its output becomes the job's log, one
	// "<time>: <line>" entry per line, as the API serves it.
	Exec bool

	mu        sync.Mutex
	jobs      []core.Job
	phases    map[string]bool // CreateJob's phases, per job
	execLogs  map[string]string
	created   map[string]chan struct{}
	summaries []string
}

var jobNameRE = regexp.MustCompile(`^[a-z][a-z\d-]*[a-z\d]$`)

func (h *fakeHost) createdCh(name string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.created == nil {
		h.created = map[string]chan struct{}{}
	}
	ch, ok := h.created[name]
	if !ok {
		ch = make(chan struct{})
		h.created[name] = ch
	}
	return ch
}

func (h *fakeHost) CreateJob(ctx context.Context, job core.Job, phases bool) error {
	if msg, ok := h.CreateErrors[job.Name]; ok {
		return errors.New(msg)
	}
	if h.ValidateNames && (!jobNameRE.MatchString(job.Name) || len(job.Name) > 63) {
		return fmt.Errorf("Bad request: invalid job name %q", job.Name)
	}
	ch := h.createdCh(job.Name)
	h.mu.Lock()
	for _, j := range h.jobs {
		if j.Name == job.Name {
			h.mu.Unlock()
			return fmt.Errorf("event already has a job named %q", job.Name)
		}
	}
	h.jobs = append(h.jobs, job)
	if h.phases == nil {
		h.phases = map[string]bool{}
	}
	h.phases[job.Name] = phases
	h.mu.Unlock()
	close(ch)
	return nil
}

func (h *fakeHost) WaitJob(ctx context.Context, name string, phase func(core.JobPhase)) (core.JobPhase, error) {
	if msg, ok := h.WaitErrors[name]; ok {
		return "", errors.New(msg)
	}
	if !h.PhasesWanted(name) {
		// As the worker's host does then: only the terminal phase comes.
		all := phase
		phase = func(p core.JobPhase) {
			if p.IsTerminal() {
				all(p)
			}
		}
	}
	phase(core.PhasePending)
	for _, dep := range h.After[name] {
		select {
		case <-h.createdCh(dep):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if h.Block[name] {
		<-ctx.Done()
		return "", ctx.Err()
	}
	phase(core.PhaseRunning)
	execPhase := core.PhaseSucceeded
	if h.Exec {
		execPhase = h.exec(ctx, name)
	}
	if d := h.Delays[name]; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		}
	}
	final := execPhase
	if p, ok := h.Phases[name]; ok {
		final = p
	}
	if final.IsTerminal() {
		phase(final)
	}
	return final, nil
}

// PhasesWanted is what CreateJob was told of the job's phases (true for a
// job it never saw: WaitJob without CreateJob follows every phase).
func (h *fakeHost) PhasesWanted(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.phases[name]
	return p || !ok
}

func (h *fakeHost) JobLogs(ctx context.Context, name string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if l, ok := h.execLogs[name]; ok {
		return l, nil
	}
	return h.Logs[name], nil
}

// exec runs the job's primary container as a host process (see Exec).
func (h *fakeHost) exec(ctx context.Context, name string) core.JobPhase {
	var job *core.Job
	for _, j := range h.Jobs() {
		if j.Name == name {
			job = &j
			break
		}
	}
	if job == nil || len(job.Spec.PrimaryContainer.Command) == 0 {
		return core.PhaseSucceeded
	}
	c := job.Spec.PrimaryContainer
	argv := append(append([]string{}, c.Command...), c.Arguments...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range c.Environment {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var lines []string
	if len(out) > 0 {
		for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			lines = append(lines, "2024-05-01T10:00:00.123Z: "+l)
		}
	}
	h.mu.Lock()
	if h.execLogs == nil {
		h.execLogs = map[string]string{}
	}
	h.execLogs[name] = strings.Join(lines, "\n")
	h.mu.Unlock()
	if err != nil {
		return core.PhaseFailed
	}
	return core.PhaseSucceeded
}

func (h *fakeHost) SetSummary(ctx context.Context, text string) error {
	if h.SummaryError != "" {
		return errors.New(h.SummaryError)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.summaries = append(h.summaries, text)
	return nil
}

func (h *fakeHost) Jobs() []core.Job {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]core.Job(nil), h.jobs...)
}

func (h *fakeHost) Summaries() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.summaries...)
}

// syncBuffer is an io.Writer safe to read while the run writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
	// onWrite, if set, sees everything written so far after each write.
	onWrite func(string)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf = append(b.buf, p...)
	s := string(b.buf)
	f := b.onWrite
	b.mu.Unlock()
	if f != nil {
		f(s)
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
