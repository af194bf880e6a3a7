package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/metrics"
)

// outcome is how one accepted event ended, in the server's times: from its
// creation to its worker's start and to its worker's end.
type outcome struct {
	phase      core.WorkerPhase
	toRunning  time.Duration // -1 when the worker never started
	toTerminal time.Duration
}

// tally is what the load has done so far; the sampler reads and resets the
// per-second part.
type tally struct {
	mu        sync.Mutex
	accepted  int // 201 answers
	finished  int // accepted events seen terminal
	errors    int // error answers and broken watches
	lost      int // accepted events whose watch broke: their end is unknown
	firstErrs []string
	phases    map[core.WorkerPhase]int
	all       []outcome // every finished event
	recent    []outcome // finished since the last sample
}

func newTally() *tally { return &tally{phases: map[core.WorkerPhase]int{}} }

func (t *tally) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errors++
	if len(t.firstErrs) < 5 {
		t.firstErrs = append(t.firstErrs, err.Error())
	}
}

// lose records an accepted event whose watch broke.
func (t *tally) lose(err error) {
	t.fail(err)
	t.mu.Lock()
	t.lost++
	t.mu.Unlock()
}

func (t *tally) accept() {
	t.mu.Lock()
	t.accepted++
	t.mu.Unlock()
}

func (t *tally) finish(o outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finished++
	t.phases[o.phase]++
	t.all = append(t.all, o)
	t.recent = append(t.recent, o)
}

// snapshot returns the counts (finished includes the lost) and the
// outcomes since the last snapshot.
func (t *tally) snapshot() (accepted, finished, errors int, recent []outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	recent, t.recent = t.recent, nil
	return t.accepted, t.finished + t.lost, t.errors, recent
}

// load sends events to project at rate for duration: event i is due at
// start + i/rate, sent by one of clients goroutines. Each accepted event is
// watched until its worker is terminal. load returns when every event is
// sent; the watches go on (wait on watchers).
type load struct {
	c        *client.Client
	project  string
	source   string
	rate     float64
	duration time.Duration
	clients  int
	tally    *tally
	watchers sync.WaitGroup
}

func (l *load) run(ctx context.Context, start time.Time) {
	n := int(math.Round(l.rate * l.duration.Seconds()))
	due := make(chan struct{}, l.clients)
	var senders sync.WaitGroup
	for range l.clients {
		senders.Go(func() {
			for range due {
				l.send(ctx)
			}
		})
	}
	for i := range n {
		at := start.Add(time.Duration(float64(i) / l.rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		due <- struct{}{} // blocks when every sender is busy: the achieved rate shows it
	}
	close(due)
	senders.Wait()
}

// send creates one event and starts watching it.
func (l *load) send(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	evs, err := l.c.CreateEvent(rctx, &core.Event{ProjectID: l.project, Source: l.source, Type: "soak"})
	if err != nil {
		l.tally.fail(fmt.Errorf("creating an event: %w", err))
		return
	}
	if len(evs) != 1 || evs[0].Metadata.Created == nil {
		l.tally.fail(fmt.Errorf("creating an event: got %d events back, want 1 with its creation time", len(evs)))
		return
	}
	l.tally.accept()
	ev := evs[0]
	l.watchers.Go(func() { l.watch(ctx, ev.Metadata.ID, *ev.Metadata.Created) })
}

// watch follows an event's worker to its end.
func (l *load) watch(ctx context.Context, id string, created time.Time) {
	var last core.WorkerStatus
	statuses, errs := l.c.WatchWorkerStatus(ctx, id)
	for st := range statuses {
		last = st
	}
	if err := <-errs; err != nil {
		if ctx.Err() == nil {
			l.tally.lose(fmt.Errorf("watching event %s: %w", id, err))
		}
		return
	}
	if !last.Phase.IsTerminal() {
		if ctx.Err() == nil {
			l.tally.lose(fmt.Errorf("watching event %s: the stream ended at %s", id, last.Phase))
		}
		return
	}
	o := outcome{phase: last.Phase, toRunning: -1}
	if last.Started != nil {
		o.toRunning = last.Started.Sub(created)
	}
	if last.Ended != nil {
		o.toTerminal = last.Ended.Sub(created)
	}
	l.tally.finish(o)
}

// sample is one second of the soak.
type sample struct {
	t          float64 // seconds since the load began
	target     float64 // events/s asked for (0 once the load is over)
	achieved   float64 // events accepted this second
	inflight   int     // accepted, not yet terminal
	runP50     float64 // ms, accept → running, of the events that ended this second (NaN: none)
	runP99     float64
	termP50    float64 // ms, accept → terminal
	termP99    float64
	rssMiB     float64
	goroutines float64
	openFiles  float64
	queueWork  float64 // worker tasks on the queue
	queueJobs  float64 // job tasks on the queue
	errors     int     // error answers so far (scrapes included)
}

// sampler reads the tally and the server's /metrics every second.
type sampler struct {
	metricsURL string
	http       *http.Client
	tally      *tally
	samples    []sample
	scrapeErrs int
	prevAcc    int
}

func (s *sampler) take(ctx context.Context, t float64, target float64) sample {
	acc, fin, errs, recent := s.tally.snapshot()
	sm := sample{t: t, target: target, achieved: float64(acc - s.prevAcc), inflight: acc - fin}
	s.prevAcc = acc
	var run, term []time.Duration
	for _, o := range recent {
		if o.toRunning >= 0 {
			run = append(run, o.toRunning)
		}
		term = append(term, o.toTerminal)
	}
	sm.runP50, sm.runP99 = pctMS(run, .5), pctMS(run, .99)
	sm.termP50, sm.termP99 = pctMS(term, .5), pctMS(term, .99)
	sm.rssMiB, sm.goroutines, sm.openFiles = math.NaN(), math.NaN(), math.NaN()
	sm.queueWork, sm.queueJobs = math.NaN(), math.NaN()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if m, err := metrics.Fetch(sctx, s.http, s.metricsURL); err != nil {
		if ctx.Err() == nil {
			s.scrapeErrs++
			s.tally.fail(err)
		}
	} else {
		if v, ok := m.Value("process_resident_memory_bytes"); ok {
			sm.rssMiB = v / (1 << 20)
		}
		if v, ok := m.Value("go_goroutines"); ok {
			sm.goroutines = v
		}
		if v, ok := m.Value("process_open_fds"); ok {
			sm.openFiles = v
		}
		if v, ok := m.Value("brigade_queue_depth", "kind", "worker"); ok {
			sm.queueWork = v
		}
		if v, ok := m.Value("brigade_queue_depth", "kind", "job"); ok {
			sm.queueJobs = v
		}
	}
	sm.errors = errs // scrape failures included
	s.samples = append(s.samples, sm)
	return sm
}

// pctMS is the p-th percentile of ds in milliseconds, NaN when empty.
func pctMS(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return float64(sorted[int(float64(len(sorted)-1)*p)]) / float64(time.Millisecond)
}
