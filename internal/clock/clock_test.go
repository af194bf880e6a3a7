package clock

import (
	"context"
	"testing"
	"time"
)

func fired(t Timer) bool {
	select {
	case <-t.C():
		return true
	default:
		return false
	}
}

func TestFake(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	early, late, stopped := f.TimerAt(t0.Add(time.Second)), f.TimerAt(t0.Add(time.Minute)), f.TimerAt(t0.Add(time.Second))
	if past := f.TimerAt(t0); !fired(past) {
		t.Fatal("a timer for now did not fire at once")
	}
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should report true once, then false")
	}
	if err := f.WaitTimers(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Second)
	if !fired(early) || fired(late) || fired(stopped) {
		t.Fatal("after 1s only the 1s timer should have fired")
	}
	if f.Timers() != 1 {
		t.Fatalf("%d timers pending, want 1", f.Timers())
	}
	f.Advance(time.Hour)
	if !fired(late) || !f.Now().Equal(t0.Add(time.Hour+time.Second)) {
		t.Fatal("the 1m timer did not fire, or the clock did not move")
	}
}
