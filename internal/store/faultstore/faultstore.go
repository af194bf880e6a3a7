// Package faultstore wraps a core.Store so that tests can make it fail or
// stall, call by call, and heal it again: the disk is full, the database
// is locked, a commit never comes back. It is for tests only; nothing in
// the platform imports it.
//
// Faults are switched on and off by the test, never by time: Fail makes
// matching calls return an error until Heal; Stall makes them block until
// Heal (or their context ends). Hits counts the calls a fault met, and
// WaitHits blocks until it reaches a number, so a test can wait for the
// platform to have met the fault before it heals it.
//
// Calls are named "Noun.Method" ("Events.UpdateWorkerStatus",
// "Queue.Lease", "Logs.Append") or "Tx" for a transaction. A pattern is a
// name, a noun followed by a dot ("Queue.", every call of the queue), or
// "*" (every call). A failed Tx runs its function and then rolls it back,
// as a commit that fails does; the calls made inside a transaction meet
// the faults too.
package faultstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
)

// ErrDiskFull is what a failing call returns unless the test gives its
// own error: the error a full disk gives a write.
var ErrDiskFull = errors.New("injected fault: database or disk is full (SQLITE_FULL)")

// ErrLocked is a lock timeout: the database stayed locked for longer than
// the call would wait.
var ErrLocked = errors.New("injected fault: database is locked (SQLITE_BUSY)")

// Store is a core.Store whose calls can be made to fail or stall.
type Store struct {
	core.Store

	mu      sync.Mutex
	rules   []rule
	hits    map[string]int // pattern → calls that met its fault
	healed  chan struct{}  // closed by Heal; stalled calls wait on it
	changed chan struct{}  // closed and replaced whenever hits change
}

type rule struct {
	pattern   string
	err       error // nil: stall
	outsideTx bool  // only calls made outside a transaction meet it
}

// inTx marks the context of a transaction's fn.
type inTx struct{}

// New wraps inner; it starts healthy.
func New(inner core.Store) *Store {
	return &Store{Store: inner, hits: map[string]int{}, healed: make(chan struct{}), changed: make(chan struct{})}
}

// Fail makes calls matching pattern return err (ErrDiskFull if nil) until
// Heal.
func (s *Store) Fail(pattern string, err error) { s.addFault(pattern, err, false) }

// FailOutsideTx is Fail for the calls made outside a transaction only: a
// locked database fails the readers, while the writer's own reads inside
// its transaction go on.
func (s *Store) FailOutsideTx(pattern string, err error) { s.addFault(pattern, err, true) }

func (s *Store) addFault(pattern string, err error, outsideTx bool) {
	if err == nil {
		err = ErrDiskFull
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, rule{pattern: pattern, err: err, outsideTx: outsideTx})
}

// Stall makes calls matching pattern block until Heal, then go ahead, or
// return their context's error if it ends first.
func (s *Store) Stall(pattern string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, rule{pattern: pattern})
}

// Heal removes every fault; stalled calls go ahead. Hits are kept.
func (s *Store) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
	close(s.healed)
	s.healed = make(chan struct{})
}

// Hits is how many calls met the fault of pattern (as given to Fail or
// Stall) so far.
func (s *Store) Hits(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[pattern]
}

// WaitHits blocks until n calls met the fault of pattern, or ctx ends.
func (s *Store) WaitHits(ctx context.Context, pattern string, n int) error {
	for {
		s.mu.Lock()
		got, ch := s.hits[pattern], s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d calls to meet the fault %q (%d did): %w", n, pattern, got, ctx.Err())
		}
	}
}

func matches(pattern, op string) bool {
	switch {
	case pattern == "*" || pattern == op:
		return true
	case strings.HasSuffix(pattern, "."):
		return strings.HasPrefix(op, pattern)
	}
	return false
}

// check applies the first fault that matches op.
func (s *Store) check(ctx context.Context, op string) error {
	tx := ctx.Value(inTx{}) != nil
	s.mu.Lock()
	var hit *rule
	for i := range s.rules {
		if matches(s.rules[i].pattern, op) && !(tx && s.rules[i].outsideTx) {
			hit = &s.rules[i]
			break
		}
	}
	if hit == nil {
		s.mu.Unlock()
		return nil
	}
	r, healed := *hit, s.healed
	s.hits[r.pattern]++
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if r.err != nil {
		return fmt.Errorf("%s: %w", op, r.err)
	}
	select {
	case <-healed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: stalled until its context ended: %w", op, ctx.Err())
	}
}

// Tx runs fn; a fault on "Tx" rolls back what fn did, as a failed commit.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.Store.Tx(ctx, func(ctx context.Context) error {
		ctx = context.WithValue(ctx, inTx{}, true)
		if err := fn(ctx); err != nil {
			return err
		}
		return s.check(ctx, "Tx")
	})
}

// Ping meets faults on "Ping".
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx, "Ping"); err != nil {
		return err
	}
	return s.Store.Ping(ctx)
}

func (s *Store) Events() core.EventStore     { return events{s.Store.Events(), s} }
func (s *Store) Jobs() core.JobStore         { return jobs{s.Store.Jobs(), s} }
func (s *Store) Logs() core.LogStore         { return logs{s.Store.Logs(), s} }
func (s *Store) Queue() core.Queue           { return queue{s.Store.Queue(), s} }
func (s *Store) Cleanups() core.CleanupStore { return cleanups{s.Store.Cleanups(), s} }
