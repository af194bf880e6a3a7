package runner

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Retrying what failed for a while (the store full or locked, the substrate
// unreachable): the runner's own bookkeeping is retried until it succeeds
// or the runner stops, waiting longer after each failure, never more than
// a bound, and at a random point of each wait so that many retries do not
// fall in step. A runner that stops with a report still undone leaves it to
// the next start, which reconciles.

// backoff is the wait before the retry that follows n failures (n >= 1):
// it doubles from min, is capped at max, and is jittered, a random point in
// its upper half.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = clampDuration(d, min, max)
	return jitter(d)
}

// jitter is a random duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func clampDuration(d, min, max time.Duration) time.Duration {
	if d < min {
		return min
	}
	if d > max {
		return max
	}
	return d
}

// final reports whether an error is an answer rather than a fault: someone
// else moved first (a conflict), the object is gone, the request itself is
// wrong. Retrying cannot change those.
func final(err error) bool {
	var (
		bad   *core.BadRequestError
		authz *core.AuthorizationError
		authn *core.AuthenticationError
	)
	return err == nil || core.IsConflict(err) || core.IsNotFound(err) ||
		errors.As(err, &bad) || errors.As(err, &authz) || errors.As(err, &authn)
}

// persist calls fn until it returns nil or a final error (see final), with
// back-off between attempts, and returns what fn last returned. It gives up
// when ctx ends: the runner is stopping, and the next start reconciles what
// is left undone. Each failure is logged as a warning, with what was being
// done and when it is tried again.
func (r *Runner) persist(ctx context.Context, what string, fn func() error) error {
	for n := 1; ; n++ {
		err := fn()
		if final(err) || ctx.Err() != nil {
			return err
		}
		wait := backoff(n, r.cfg.BackoffMin, r.cfg.BackoffMax)
		r.log.Warn(what+" failed; trying again", "attempt", n, "in", wait, "error", err)
		r.faulted()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// faulted counts a failure the runner retries (see Runner.Faults).
func (r *Runner) faulted() { r.faults.Add(1) }

// Faults counts the failures the runner met and retried since it was made:
// store writes and reads, substrate starts and stops.
func (r *Runner) Faults() int64 { return r.faults.Load() }
