package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, MaxPercent},
		{1 << 20, MaxPercent},      // 1 MiB live: 6400%, bounded
		{16 << 20, 400},            // 16 MiB: may grow by 64 MiB
		{32 << 20, 200},            // 32 MiB
		{Headroom, 100},            // as the default from here on
		{1 << 30, 100},             // never below the default
		{(Headroom / 3) * 2, 150},  // 42.7 MiB: 150%
		{(Headroom / 10) * 4, 250}, // 25.6 MiB: 250%
	} {
		if got := Percent(c.live); got != c.want {
			t.Errorf("Percent(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}

// gcPercent reads the collector's percentage (there is no getter).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// collectUntil collects until cond holds, or fails the test with msg.
func collectUntil(t *testing.T, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg())
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // the hook runs on the finalizer goroutine
	}
}

func TestStartTunesAfterEachCollection(t *testing.T) {
	if v, set := os.LookupEnv("GOGC"); set {
		t.Setenv("GOGC", v) // restored when the test ends
		os.Unsetenv("GOGC") // Start leaves a set GOGC alone
	}
	if !Start() {
		t.Fatal("Start did not install the hook with GOGC unset")
	}
	// This test's heap is a few MiB: the hook allows the most.
	collectUntil(t, func() bool { return gcPercent() == MaxPercent }, func() string {
		return "GOGC did not become MaxPercent after collections"
	})
	// It runs after every collection, not only the first.
	before := hookRuns.Load()
	collectUntil(t, func() bool { return hookRuns.Load() >= before+3 }, func() string {
		return "the hook stopped running after later collections"
	})
}

func TestStartLeavesAGOGCFromTheEnvironment(t *testing.T) {
	t.Setenv("GOGC", "100")
	if Start() {
		t.Fatal("Start installed the hook although GOGC is set")
	}
}
