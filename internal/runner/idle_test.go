package runner

import (
	"slices"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Once the last workload ends, Config.Idle runs (the server returns memory
// to the system then); work that starts within IdleAfter puts it off.
func TestIdleAfterTheLastWorkload(t *testing.T) {
	idle := make(chan struct{}, 8)
	h := newHarness(t, Config{IdleAfter: time.Millisecond, Idle: func() { idle <- struct{}{} }}, "p")
	h.start()
	id := h.send("p", 1)[0]
	h.waitPhase(id, "", core.PhaseRunning)
	select {
	case <-idle:
		t.Fatal("Idle ran while a worker was running")
	default:
	}
	h.sub.end(core.WorkloadRef{EventID: id}, core.PhaseSucceeded, false)
	h.waitPhase(id, "", core.PhaseSucceeded)
	select {
	case <-idle:
	case <-h.ctx.Done():
		t.Fatal("Idle did not run after the last workload ended")
	}
}

// A round of cleanups (which comes after the last workload ended, once
// the cleanup delay is over) is work too: Idle runs again after it.
func TestIdleAgainAfterCleanups(t *testing.T) {
	idle := make(chan struct{}, 8)
	h := newHarness(t, Config{IdleAfter: time.Millisecond, Idle: func() { idle <- struct{}{} }}, "p")
	h.start()
	id := h.send("p", 1)[0]
	h.waitPhase(id, "", core.PhaseRunning)
	h.sub.end(core.WorkloadRef{EventID: id}, core.PhaseSucceeded, false)
	h.waitPhase(id, "", core.PhaseSucceeded)
	select {
	case <-idle:
	case <-h.ctx.Done():
		t.Fatal("Idle did not run after the last workload ended")
	}
	h.clock.Advance(cleanupDelay)
	h.wait("the event's cleanup done", func() bool {
		_, ok, err := h.store.Cleanups().Next(h.ctx)
		return err == nil && !ok && slices.Contains(h.sub.cleanedList(), id)
	})
	select {
	case <-idle:
	case <-h.ctx.Done():
		t.Fatal("Idle did not run again after the cleanups")
	}
}
