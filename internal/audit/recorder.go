// Package audit keeps the audit log: who did what through the API, when,
// and how it ended (docs/hardening.md, "Audit log"). The HTTP layer hands
// each state-changing call to a Recorder, which stores entries in batches
// in the background without waiting for the disk (core.Relaxed), so a
// request never pays for a synced commit of its own, and prunes the log to
// its retention limits.
package audit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// Defaults of Options.
const (
	DefaultMaxAge     = 90 * 24 * time.Hour
	DefaultMaxEntries = 1_000_000
	DefaultPruneEvery = 10 * time.Minute
	// maxPending bounds the entries waiting to be written: beyond it,
	// Record waits for the writer rather than lose an entry.
	maxPending = 10_000
)

// Options tunes a Recorder.
type Options struct {
	// MaxAge prunes entries older than this (0: DefaultMaxAge; negative:
	// no age limit).
	MaxAge time.Duration
	// MaxEntries keeps at most this many entries, the newest (0:
	// DefaultMaxEntries; negative: no count limit).
	MaxEntries int
	// PruneEvery is how often Run prunes (0: DefaultPruneEvery).
	PruneEvery time.Duration
	// Now is the clock of entries and of the age limit (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Recorder queues entries and writes them in batches. Safe for concurrent
// use; create it with New and Close it before closing the store.
type Recorder struct {
	store core.AuditStore
	opts  Options
	log   *slog.Logger

	mu       sync.Mutex
	pending  []core.AuditEntry
	queued   uint64        // entries ever queued
	done     uint64        // entries whose batch was written (or failed)
	progress chan struct{} // closed and replaced whenever done advances
	closed   bool

	wake    chan struct{} // cap 1: there is something to write
	stopped chan struct{} // the writer has exited
}

// New starts a Recorder that writes to store.
func New(store core.AuditStore, opts Options) *Recorder {
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = DefaultPruneEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{store: store, opts: opts, log: opts.Logger,
		progress: make(chan struct{}), wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go r.writer()
	return r
}

// Now is the recorder's clock, in UTC.
func (r *Recorder) Now() time.Time { return r.opts.Now().UTC() }

// Record queues e (its Time set to now when zero). It returns at once
// unless maxPending entries are waiting, then once the writer has made
// room. After Close it logs the entry instead.
func (r *Recorder) Record(e core.AuditEntry) {
	if e.Time.IsZero() {
		e.Time = r.Now()
	}
	r.mu.Lock()
	for len(r.pending) >= maxPending && !r.closed {
		ch := r.progress
		r.mu.Unlock()
		<-ch
		r.mu.Lock()
	}
	if r.closed {
		r.mu.Unlock()
		r.log.Warn("audit entry after shutdown, not stored", "action", e.Action, "object", e.Object, "status", e.Status)
		return
	}
	r.pending = append(r.pending, e)
	r.queued++
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Flush waits until every entry recorded before the call is stored (or its
// write failed), or ctx ends.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	target := r.queued
	for r.done < target {
		ch := r.progress
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
	}
	r.mu.Unlock()
	return nil
}

// Close writes what is queued and stops the writer. Entries recorded
// afterwards are only logged.
func (r *Recorder) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		// Wakes Record callers waiting for room: they give up.
		close(r.progress)
		r.progress = make(chan struct{})
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.stopped
}

// writer stores the queued entries in batches until Close.
func (r *Recorder) writer() {
	defer close(r.stopped)
	for range r.wake {
		for {
			r.mu.Lock()
			batch, upTo, closed := r.pending, r.queued, r.closed
			r.pending = nil
			r.mu.Unlock()
			if len(batch) > 0 {
				r.write(batch)
			}
			r.mu.Lock()
			r.done = upTo
			close(r.progress)
			r.progress = make(chan struct{})
			more := len(r.pending) > 0
			r.mu.Unlock()
			if closed && !more {
				return
			}
			if !more {
				break
			}
		}
	}
}

func (r *Recorder) write(batch []core.AuditEntry) {
	// Unhurried: the batch reaches the disk with the next durable commit,
	// and survives a crash of the process in any case; nothing waits on it,
	// so the store may hold it back to share the next commit.
	ctx, cancel := context.WithTimeout(core.Unhurried(context.Background()), time.Minute)
	defer cancel()
	if err := r.store.Append(ctx, batch); err != nil {
		r.log.Error("storing audit entries failed; they are lost", "entries", len(batch), "error", err)
	}
}

// Prune applies the retention limits once.
func (r *Recorder) Prune(ctx context.Context) (int64, error) {
	var before time.Time
	if r.opts.MaxAge > 0 {
		before = r.Now().Add(-r.opts.MaxAge)
	}
	keep := max(r.opts.MaxEntries, 0)
	n, err := r.store.Prune(core.Relaxed(ctx), before, keep)
	if err != nil {
		return 0, fmt.Errorf("pruning the audit log: %w", err)
	}
	if n > 0 {
		r.log.Info("pruned the audit log", "removed", n)
	}
	return n, nil
}

// Run prunes at once and then every PruneEvery, until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.PruneEvery)
	defer t.Stop()
	for {
		if _, err := r.Prune(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("audit retention", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PrincipalOf names p for the log; nil is ANONYMOUS (the call was not
// authenticated). Kinds this package does not know are named by number,
// so a new kind still leaves a trace.
func PrincipalOf(p *auth.Principal) core.AuditPrincipal {
	if p == nil {
		return core.AuditPrincipal{Kind: "ANONYMOUS"}
	}
	switch p.Kind {
	case auth.KindRoot:
		return core.AuditPrincipal{Kind: "ROOT", ID: "root"}
	case auth.KindScheduler:
		return core.AuditPrincipal{Kind: "SCHEDULER", ID: p.ID}
	case auth.KindObserver:
		return core.AuditPrincipal{Kind: "OBSERVER", ID: p.ID}
	case auth.KindWorker:
		return core.AuditPrincipal{Kind: "WORKER", ID: p.EventID}
	case auth.KindUser:
		return core.AuditPrincipal{Kind: "USER", ID: p.ID}
	case auth.KindServiceAccount:
		return core.AuditPrincipal{Kind: "SERVICE_ACCOUNT", ID: p.ID}
	case auth.KindGateway:
		return core.AuditPrincipal{Kind: "GATEWAY", ID: p.ID}
	}
	return core.AuditPrincipal{Kind: fmt.Sprintf("KIND_%d", p.Kind), ID: p.ID}
}
