// Package cron is the cron gateway: it creates the events of a cron file's
// schedules (source brigade.sh/cron) when they come due (docs/gateways.md,
// "Cron").
//
// A firing is keyed by its schedule and instant (the API's Idempotency-Key),
// so that however many processes fire the same instant, and however often
// one restarts, it creates its event once. A process fires only the
// instants that come due while it runs: no back-fill after downtime, unless
// a schedule's startingDeadline asks for the latest missed one.
package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/clock"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
)

// Name is the gateway's name (`brigade gateway cron`).
const Name = "cron"

// Build makes the cron gateway of the schedules in file; an empty file
// name leaves it off (a nil Gateway).
func Build(file string, env gateway.Env) (gateway.Gateway, error) {
	if file == "" {
		return nil, nil
	}
	entries, err := LoadFile(file)
	if err != nil {
		return nil, err
	}
	return New(env, entries, Options{}), nil
}

// Options tune a Gateway.
type Options struct {
	// Clock tells the time and waits (default: the wall clock).
	Clock clock.Clock
	// Observe, if not nil, is told the outcome of every firing.
	Observe func(Firing)
}

// Firing is what became of one due instant of a schedule.
type Firing struct {
	Schedule string
	At       time.Time
	// Events are the ids of the events created (or, Replayed, created
	// before by the same firing in this or another process).
	Events   []string
	Replayed bool
	// Skipped says why the firing created nothing on purpose.
	Skipped string
	// Err is why it failed.
	Err error
}

// Gateway fires the schedules of a cron file.
type Gateway struct {
	entries []Entry
	api     *client.Client
	log     *slog.Logger
	clock   clock.Clock
	observe func(Firing)

	mu       sync.Mutex
	inFlight map[string]bool // schedules with a firing under way
}

// New makes the gateway of entries.
func New(env gateway.Env, entries []Entry, o Options) *Gateway {
	g := &Gateway{entries: entries, api: env.API, log: env.Log, clock: o.Clock, observe: o.Observe,
		inFlight: map[string]bool{}}
	if g.clock == nil {
		g.clock = clock.Real{}
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g
}

// Name implements gateway.Gateway.
func (g *Gateway) Name() string { return Name }

// Source implements gateway.Gateway.
func (g *Gateway) Source() string { return Source }

// Routes implements gateway.Gateway: the cron gateway has no endpoints.
func (g *Gateway) Routes(bool) []gateway.Route { return nil }

// maxSleep bounds one wait, so that a wall clock set forward (or a
// machine waking from sleep) is noticed within a minute.
const maxSleep = time.Minute

// Run fires the schedules as they come due until ctx ends, then waits for
// the firings under way.
func (g *Gateway) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	now := g.clock.Now()
	next := make([]time.Time, len(g.entries))
	for i := range g.entries {
		e := &g.entries[i]
		if at, ok := e.missed(now); ok {
			g.fire(ctx, &wg, e, at)
		}
		next[i] = e.Schedule.Next(now)
		g.log.Info("cron schedule", "schedule", e.Name, "spec", e.Spec, "timeZone", e.Location.String(),
			"policy", e.Policy, "next", next[i].Format(time.RFC3339))
	}
	for {
		var due time.Time
		for _, t := range next {
			if !t.IsZero() && (due.IsZero() || t.Before(due)) {
				due = t
			}
		}
		wake := due
		if limit := g.clock.Now().Add(maxSleep); wake.IsZero() || limit.Before(wake) {
			wake = limit
		}
		timer := g.clock.TimerAt(wake)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C():
		}
		now := g.clock.Now()
		for i := range g.entries {
			e := &g.entries[i]
			at := next[i]
			if at.IsZero() || at.After(now) {
				continue
			}
			if e.StartingDeadline > 0 && now.Sub(at) > e.StartingDeadline {
				g.done(Firing{Schedule: e.Name, At: at, Skipped: "missed: it came due more than startingDeadline ago"})
			} else {
				g.fire(ctx, &wg, e, at)
			}
			// Instants passed while this process was not looking are
			// not made up for.
			next[i] = e.Schedule.Next(latest(at, now))
		}
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// missed is the latest instant of e within its startingDeadline before
// now, if e has a deadline and such an instant.
func (e *Entry) missed(now time.Time) (time.Time, bool) {
	if e.StartingDeadline <= 0 {
		return time.Time{}, false
	}
	var last time.Time
	for t := e.Schedule.Next(now.Add(-e.StartingDeadline)); !t.IsZero() && !t.After(now); t = e.Schedule.Next(t) {
		last = t
	}
	return last, !last.IsZero()
}

// Key is the Idempotency-Key of the firing of schedule name at at.
func Key(name string, at time.Time) string {
	return name + "/" + at.UTC().Format(time.RFC3339)
}

// fire starts the firing of e at at, unless one of e's firings is under
// way and e forbids overlaps.
func (g *Gateway) fire(ctx context.Context, wg *sync.WaitGroup, e *Entry, at time.Time) {
	g.mu.Lock()
	busy := g.inFlight[e.Name]
	if !busy {
		g.inFlight[e.Name] = true
	}
	g.mu.Unlock()
	if busy && e.Policy == Forbid {
		g.done(Firing{Schedule: e.Name, At: at, Skipped: "the previous firing is still being sent"})
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		f := g.send(ctx, e, at)
		if !busy {
			g.mu.Lock()
			delete(g.inFlight, e.Name)
			g.mu.Unlock()
		}
		g.done(f)
	}()
}

// Retries of a firing whose API call failed for a reason that may pass:
// from firstRetry, doubling up to maxRetry, for as long as the schedule's
// next instant has not come.
const (
	firstRetry = time.Second
	maxRetry   = time.Minute
)

// send makes one firing: with Forbid, it skips when an event of the
// schedule has not finished; otherwise it creates the event, keyed.
func (g *Gateway) send(ctx context.Context, e *Entry, at time.Time) Firing {
	f := Firing{Schedule: e.Name, At: at}
	until := e.Schedule.Next(at)
	wait := firstRetry
	for {
		var err error
		f.Skipped, err = g.overlap(ctx, e)
		if err == nil && f.Skipped == "" {
			ev := e.Event
			var evs []core.Event
			evs, f.Replayed, err = g.api.CreateEventOnce(ctx, &ev, Key(e.Name, at))
			for _, x := range evs {
				f.Events = append(f.Events, x.Metadata.ID)
			}
			if err == nil && len(evs) == 0 && !f.Replayed {
				g.log.Warn("cron event reached no project: the project does not subscribe to it",
					"schedule", e.Name, "project", e.Event.ProjectID, "source", Source, "type", e.Event.Type)
			}
		}
		if err == nil || !retryable(err) || ctx.Err() != nil {
			f.Err = err
			return f
		}
		retryAt := g.clock.Now().Add(wait)
		if !until.IsZero() && !retryAt.Before(until) {
			f.Err = fmt.Errorf("%w (gave up: the schedule's next firing is due)", err)
			return f
		}
		g.log.Warn("cron firing failed, retrying", "schedule", e.Name, "at", at, "retryIn", wait, "error", err)
		timer := g.clock.TimerAt(retryAt)
		select {
		case <-ctx.Done():
			timer.Stop()
			f.Err = err
			return f
		case <-timer.C():
		}
		wait = min(2*wait, maxRetry)
	}
}

// unfinished are the worker phases of an event that has not finished.
func unfinished() []core.WorkerPhase {
	var out []core.WorkerPhase
	for _, p := range core.AllPhases {
		if !p.IsTerminal() {
			out = append(out, p)
		}
	}
	return out
}

// overlap says why a firing of e must be skipped under Forbid: an event of
// e, created by an earlier firing in any process, has not finished. (It
// may be the event of this very firing, created by another process a
// moment before: skipping is then as good as the replay.)
func (g *Gateway) overlap(ctx context.Context, e *Entry) (string, error) {
	if e.Policy != Forbid {
		return "", nil
	}
	l, err := g.api.ListEvents(ctx, &client.EventSelector{ProjectID: e.Event.ProjectID, Source: Source,
		Labels: map[string]string{ScheduleLabel: e.Name}, WorkerPhases: unfinished()}, &client.ListOptions{Limit: 1})
	if err != nil {
		return "", fmt.Errorf("looking for the schedule's unfinished events: %w", err)
	}
	if len(l.Items) > 0 {
		return fmt.Sprintf("concurrencyPolicy Forbid: event %s of this schedule has not finished", l.Items[0].Metadata.ID), nil
	}
	return "", nil
}

// retryable: the API could not be reached, or answered with a status that
// may pass (5xx, 429). A refusal (400, 401, 403, 404, 409) will not.
func retryable(err error) bool {
	var (
		bad      *core.BadRequestError
		authn    *core.AuthenticationError
		authz    *core.AuthorizationError
		notFound *core.NotFoundError
		conflict *core.ConflictError
		api      *client.APIError
	)
	switch {
	case errors.As(err, &bad), errors.As(err, &authn), errors.As(err, &authz), errors.As(err, &notFound), errors.As(err, &conflict):
		return false
	case errors.As(err, &api):
		return api.StatusCode >= 500 || api.StatusCode == 429
	}
	return true
}

// done logs a firing's outcome and tells Observe.
func (g *Gateway) done(f Firing) {
	args := []any{"schedule", f.Schedule, "at", f.At.UTC().Format(time.RFC3339)}
	switch {
	case f.Err != nil && errors.Is(f.Err, context.Canceled):
		g.log.Info("cron firing interrupted: the gateway is stopping", args...)
	case f.Err != nil:
		var authn *core.AuthenticationError
		var authz *core.AuthorizationError
		args = append(args, "error", f.Err)
		if errors.As(f.Err, &authn) || errors.As(f.Err, &authz) {
			args = append(args, "hint", "the API refused the gateway's token: it needs READER and EVENT_CREATOR for source "+Source)
		}
		g.log.Error("cron firing failed", args...)
	case f.Skipped != "":
		g.log.Info("cron firing skipped", append(args, "reason", f.Skipped)...)
	default:
		g.log.Info("cron fired", append(args, "events", f.Events, "replayed", f.Replayed)...)
	}
	if g.observe != nil {
		g.observe(f)
	}
}
