package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// fakeSubstrate runs nothing: workloads "run" until the test ends them.
// It records starts and the most that ran at once.
type fakeSubstrate struct {
	clock interface{ Now() time.Time }

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	live       map[core.WorkloadRef]*fakeWorkload
	attempts   map[core.WorkloadRef]int
	failFirst  map[string]int // project → starts of each of its workers that fail
	failJobs   map[string]int // job name → starts of each job of that name that fail
	failStops  int            // calls of Stop still to fail
	stopFails  int            // calls of Stop that failed
	started    []core.WorkloadRef
	projects   map[string]string // event id → project
	maxWorkers int
	maxJobs    int
	maxPerProj map[string]int
	cleaned    []string
	docs       map[string][]byte // event id → event.json
}

type fakeWorkload struct {
	done   chan struct{}
	status core.ExitStatus
}

func newFakeSubstrate(clk interface{ Now() time.Time }) *fakeSubstrate {
	return &fakeSubstrate{clock: clk, changed: make(chan struct{}), live: map[core.WorkloadRef]*fakeWorkload{},
		attempts: map[core.WorkloadRef]int{}, failFirst: map[string]int{}, failJobs: map[string]int{}, projects: map[string]string{},
		maxPerProj: map[string]int{}, docs: map[string][]byte{}}
}

func (f *fakeSubstrate) signal() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// waitFor blocks until cond (called with f.mu held) is true or ctx ends.
func (f *fakeSubstrate) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		f.mu.Lock()
		ok, ch := cond(), f.changed
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

func (f *fakeSubstrate) Name() string                { return "fake" }
func (f *fakeSubstrate) Check(context.Context) error { return nil }

func (f *fakeSubstrate) start(ref core.WorkloadRef, project string) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.signal()
	f.attempts[ref]++
	if ref.IsWorker() && f.attempts[ref] <= f.failFirst[project] {
		return time.Time{}, errors.New("substrate exploded")
	}
	if !ref.IsWorker() && f.attempts[ref] <= f.failJobs[ref.Job] {
		return time.Time{}, errors.New("no space left on device")
	}
	if _, ok := f.live[ref]; ok {
		return time.Time{}, fmt.Errorf("%s started twice", ref)
	}
	f.live[ref] = &fakeWorkload{done: make(chan struct{})}
	f.started = append(f.started, ref)
	f.projects[ref.EventID] = project
	workers, jobs, per := f.countsLocked()
	f.maxWorkers = max(f.maxWorkers, workers)
	f.maxJobs = max(f.maxJobs, jobs)
	for p, n := range per {
		f.maxPerProj[p] = max(f.maxPerProj[p], n)
	}
	return f.clock.Now(), nil
}

func (f *fakeSubstrate) countsLocked() (workers, jobs int, perProject map[string]int) {
	perProject = map[string]int{}
	for ref, w := range f.live {
		select {
		case <-w.done:
			continue
		default:
		}
		if ref.IsWorker() {
			workers++
			perProject[f.projects[ref.EventID]]++
		} else {
			jobs++
		}
	}
	return workers, jobs, perProject
}

func (f *fakeSubstrate) StartWorker(_ context.Context, l *core.WorkerLaunch) (time.Time, error) {
	f.mu.Lock()
	f.docs[l.Event.Metadata.ID] = l.EventDocument
	f.mu.Unlock()
	return f.start(core.WorkloadRef{EventID: l.Event.Metadata.ID}, l.Event.ProjectID)
}

func (f *fakeSubstrate) StartJob(_ context.Context, l *core.JobLaunch) (time.Time, error) {
	return f.start(core.WorkloadRef{EventID: l.EventID, Job: l.Job.Name}, l.ProjectID)
}

func (f *fakeSubstrate) Wait(ctx context.Context, ref core.WorkloadRef) (core.ExitStatus, error) {
	f.mu.Lock()
	w := f.live[ref]
	f.mu.Unlock()
	if w == nil {
		return core.ExitStatus{}, core.NewNotFound("Workload", ref.String())
	}
	select {
	case <-w.done:
		return w.status, nil
	case <-ctx.Done():
		return core.ExitStatus{}, ctx.Err()
	}
}

// forget drops a finished workload, as a cleanup would: a long benchmark
// keeps the fake's bookkeeping small.
func (f *fakeSubstrate) forget(ref core.WorkloadRef) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, ref)
	delete(f.attempts, ref)
}

// end finishes a running workload with a phase.
func (f *fakeSubstrate) end(ref core.WorkloadRef, phase core.WorkerPhase, stopped bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.live[ref]
	if w == nil {
		return false
	}
	select {
	case <-w.done:
		return false
	default:
	}
	w.status = core.ExitStatus{Phase: phase, Ended: f.clock.Now(), Stopped: stopped}
	close(w.done)
	f.signal()
	return true
}

func (f *fakeSubstrate) Stop(_ context.Context, ref core.WorkloadRef, _ time.Duration) error {
	f.mu.Lock()
	if f.failStops > 0 {
		f.failStops--
		f.stopFails++
		f.signal()
		f.mu.Unlock()
		return errors.New("cannot connect to the daemon")
	}
	f.mu.Unlock()
	f.end(ref, core.PhaseAborted, true)
	return nil
}

func (f *fakeSubstrate) Cleanup(_ context.Context, eventID string) error {
	f.mu.Lock()
	var refs []core.WorkloadRef
	for ref := range f.live {
		if ref.EventID == eventID {
			refs = append(refs, ref)
		}
	}
	f.mu.Unlock()
	for _, ref := range refs {
		f.end(ref, core.PhaseAborted, true)
	}
	f.mu.Lock()
	for _, ref := range refs {
		delete(f.live, ref)
	}
	f.cleaned = append(f.cleaned, eventID)
	f.signal()
	f.mu.Unlock()
	return nil
}

func (f *fakeSubstrate) List(context.Context) ([]core.WorkloadRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var refs []core.WorkloadRef
	for ref := range f.live {
		refs = append(refs, ref)
	}
	return refs, nil
}

func (f *fakeSubstrate) Running(context.Context) (int, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, j, _ := f.countsLocked()
	return w, j, nil
}

// running lists the refs of workloads that have not ended, in start order.
func (f *fakeSubstrate) running() []core.WorkloadRef {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []core.WorkloadRef
	for _, ref := range f.started {
		if w := f.live[ref]; w != nil {
			select {
			case <-w.done:
				continue
			default:
			}
			out = append(out, ref)
		}
	}
	return out
}

func (f *fakeSubstrate) attemptsOf(ref core.WorkloadRef) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[ref]
}

func (f *fakeSubstrate) cleanedList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cleaned)
}
