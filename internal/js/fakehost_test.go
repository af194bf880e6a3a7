package js

import (
	"context"
	"errors"
	"fmt"
	"regexp"
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
	// ValidateNames rejects names the API would (reference 3.7).
	ValidateNames bool
	// SummaryError makes SetSummary fail.
	SummaryError string

	mu        sync.Mutex
	jobs      []core.Job
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

func (h *fakeHost) CreateJob(ctx context.Context, job core.Job) error {
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
	h.mu.Unlock()
	close(ch)
	return nil
}

func (h *fakeHost) WaitJob(ctx context.Context, name string, phase func(core.JobPhase)) (core.JobPhase, error) {
	if msg, ok := h.WaitErrors[name]; ok {
		return "", errors.New(msg)
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
	if d := h.Delays[name]; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		}
	}
	final := core.PhaseSucceeded
	if p, ok := h.Phases[name]; ok {
		final = p
	}
	if final.IsTerminal() {
		phase(final)
	}
	return final, nil
}

func (h *fakeHost) JobLogs(ctx context.Context, name string) (string, error) {
	return h.Logs[name], nil
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
