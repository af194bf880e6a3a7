package runner

import (
	"context"
	"time"

	"github.com/brigadeplatform/brigade/internal/clock"
	"github.com/brigadeplatform/brigade/internal/core"
)

// cleanupBatch bounds how many due cleanups one round takes.
const cleanupBatch = 50

// cleanups removes what events left on the substrate when their cleanup
// entry (written in the same transaction that finished or deleted the
// event) comes due, until ctx ends. Entries live in the store, so a
// restart picks up whatever was due or pending.
func (r *Runner) cleanups(ctx context.Context) error {
	changed, cancel := r.store.Subscribe(core.TopicCleanup)
	defer cancel()
	// A change (a cleanup scheduled for later, one done) rarely makes one
	// due: after it only the next due time is read, and a round runs when
	// that time has come.
	round := true // at start, what an earlier run left may be due
	for {
		var next time.Time
		var err error
		if round {
			next, err = r.cleanupRound(ctx)
		} else {
			next, _, err = r.store.Cleanups().Next(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.log.Warn("cleaning up finished events; trying again", "error", err, "in", r.cfg.CleanupRetry)
			next = r.clock.Now().Add(r.cfg.CleanupRetry)
		} else if !next.IsZero() && !next.After(r.clock.Now()) {
			round = true // due already
			continue
		}
		var timer clock.Timer
		var timerC <-chan time.Time
		if !next.IsZero() {
			timer = r.clock.TimerAt(next)
			timerC = timer.C()
		}
		select {
		case <-ctx.Done():
		case <-changed:
			round = false
		case <-timerC:
			round = true
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// cleanupRound does every cleanup due now and returns when the next one is
// due (zero: none is scheduled; a past time: one is due already).
func (r *Runner) cleanupRound(ctx context.Context) (time.Time, error) {
	bctx := core.Relaxed(ctx)
	for {
		now := r.clock.Now()
		due, err := r.store.Cleanups().Due(ctx, now, cleanupBatch)
		if err != nil {
			return time.Time{}, err
		}
		for _, c := range due {
			if ctx.Err() != nil {
				return time.Time{}, nil
			}
			r.cleanup(bctx, c)
		}
		if len(due) > 0 {
			r.mu.Lock()
			r.armIdle()
			r.mu.Unlock()
		}
		if len(due) < cleanupBatch {
			break
		}
	}
	next, _, err := r.store.Cleanups().Next(ctx)
	return next, err
}

// cleanup removes one event's leftovers and revokes its worker's token.
func (r *Runner) cleanup(ctx context.Context, c core.Cleanup) {
	// The worker's token dies first: its event.json, which holds it, is in
	// the folder the substrate removes next, and nobody who sees the folder
	// gone may still use the token.
	if err := r.store.Events().SetWorkerTokenHash(ctx, c.EventID, ""); err != nil && !core.IsNotFound(err) {
		r.log.Warn("revoking the worker token of a finished event", "event", c.EventID, "error", err)
	}
	if err := r.sub.Cleanup(ctx, c.EventID); err != nil {
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("cleaning up an event; will try again", "event", c.EventID, "error", err, "in", r.cfg.CleanupRetry)
		if err := r.store.Cleanups().Retry(ctx, c, r.clock.Now().Add(r.cfg.CleanupRetry)); err != nil {
			r.log.Error("postponing a cleanup", "event", c.EventID, "error", err)
		}
		return
	}
	if err := r.store.Cleanups().Done(ctx, c); err != nil {
		r.log.Warn("recording a finished cleanup", "event", c.EventID, "error", err)
	}
}
