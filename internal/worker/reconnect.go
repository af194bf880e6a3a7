package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// reconnect is how the worker rides out a lost API connection (the server
// restarts, the network drops, a proxy refuses connections for a while):
// a call that fails for want of the server is made again after a back-off
// that doubles from min up to max, jittered, for as long as the outage
// lasts up to budget; then the error goes to the script, which fails as it
// would have. Answers from the server (a 4xx) are not outages: they go to
// the script at once.
type reconnect struct {
	min, max time.Duration
	budget   time.Duration
	// warn writes a line into the worker's log.
	warn func(format string, args ...any)
}

// Defaults: a restart of the server or a short network outage is ridden
// out; a server gone for good fails the script within minutes.
const (
	reconnectMin    = 200 * time.Millisecond
	reconnectMax    = 10 * time.Second
	reconnectBudget = 5 * time.Minute
)

func defaultReconnect(w *logWriter) *reconnect {
	return &reconnect{min: reconnectMin, max: reconnectMax, budget: reconnectBudget,
		warn: func(format string, args ...any) { w.log("WARN", format, args...) }}
}

// outage tracks one spell of failed calls.
type outage struct {
	rc       *reconnect
	what     string
	began    time.Time // zero: no outage under way
	failures int
}

// failed decides, after err, whether to try again: it waits the back-off
// and returns nil, or returns the error to give up with (err itself when
// it is no outage, or when ctx ended; err with how long the server has
// been unreachable when the budget is spent).
func (o *outage) failed(ctx context.Context, err error) error {
	if !transient(err) || ctx.Err() != nil {
		return err
	}
	now := time.Now()
	if o.began.IsZero() {
		o.began = now
	}
	o.failures++
	if gone := now.Sub(o.began); gone >= o.rc.budget {
		return fmt.Errorf("%s: the API server has not answered for %s, giving up: %w", o.what, gone.Round(time.Second), err)
	}
	wait := o.rc.backoff(o.failures)
	var tooMany *core.TooManyRequestsError
	if errors.As(err, &tooMany) && tooMany.RetryAfter > wait {
		wait = min(tooMany.RetryAfter, o.rc.max)
	}
	if o.rc.warn != nil {
		o.rc.warn("%s failed (%v); trying again in %s", o.what, err, wait.Round(time.Millisecond))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return err
	case <-t.C:
		return nil
	}
}

// ok ends the outage, if one was under way.
func (o *outage) ok() {
	if !o.began.IsZero() && o.rc.warn != nil {
		o.rc.warn("%s: the API server answers again", o.what)
	}
	o.began, o.failures = time.Time{}, 0
}

// do calls fn until it succeeds, fails with an answer, or the outage
// budget is spent.
func (rc *reconnect) do(ctx context.Context, what string, fn func() error) error {
	o := &outage{rc: rc, what: what}
	for {
		err := fn()
		if err == nil {
			o.ok()
			return nil
		}
		if err := o.failed(ctx, err); err != nil {
			return err
		}
	}
}

// backoff is the wait after n failures in a row: min doubled n-1 times,
// capped at max, a random point in its upper half.
func (rc *reconnect) backoff(n int) time.Duration {
	d := rc.min
	for i := 1; i < n && d < rc.max; i++ {
		d *= 2
	}
	d = min(d, rc.max)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d-d/2+1)
}

// transient reports whether an error means the server could not be
// reached or could not answer for now (a connection refused or dropped, a
// stream cut short, a 5xx, a 429), rather than an answer to the request.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var (
		bad      *core.BadRequestError
		authn    *core.AuthenticationError
		authz    *core.AuthorizationError
		notFound *core.NotFoundError
		conflict *core.ConflictError
		notSupp  *core.NotSupportedError
		tooLarge *core.RequestTooLargeError
		apiErr   *client.APIError
	)
	switch {
	case errors.As(err, &bad), errors.As(err, &authn), errors.As(err, &authz), errors.As(err, &notFound),
		errors.As(err, &conflict), errors.As(err, &notSupp), errors.As(err, &tooLarge):
		return false
	case errors.As(err, &apiErr):
		return apiErr.StatusCode >= 500
	}
	return true
}
