package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
)

// latency sends n events one at a time and measures, for each, the time from
// its acceptance (the 201) to its script's first log line.
func (b *bench) latency(n int) error {
	if err := b.project("latency", `console.log("script running");`); err != nil {
		return err
	}
	lat := make([]time.Duration, 0, n)
	var spawn []time.Duration
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		ev, accepted, err := b.runEvent("latency")
		if err != nil {
			return err
		}
		at, err := b.firstScriptLine(ev.Metadata.ID, "script running")
		if err != nil {
			return err
		}
		lat = append(lat, at.Sub(accepted))
		// Baseline: starting the same worker binary and having it exit.
		t0 := time.Now()
		if err := exec.Command(exe, "-h").Run(); err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				return err
			}
		}
		spawn = append(spawn, time.Since(t0))
	}
	sortDur(lat)
	sortDur(spawn)
	fmt.Printf("latency: event accepted → script running, %d events one at a time (local substrate, in-process server)\n", n)
	fmt.Printf("  p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", ms(pct(lat, .5)), ms(pct(lat, .99)), ms(lat[len(lat)-1]))
	fmt.Printf("  baseline: bare start+exit of the worker binary p50 %.2f ms, p99 %.2f ms\n", ms(pct(spawn, .5)), ms(pct(spawn, .99)))
	return nil
}

// firstScriptLine returns the time of the script's first own log line.
func (b *bench) firstScriptLine(id, marker string) (time.Time, error) {
	lines, errs := b.c.Logs(b.ctx, id, client.LogOptions{})
	var at time.Time
	for l := range lines {
		if at.IsZero() && strings.Contains(l.Message, marker) && l.Time != nil {
			at = *l.Time
		}
	}
	if err := <-errs; err != nil {
		return at, err
	}
	if at.IsZero() {
		return at, fmt.Errorf("no %q line in the worker log of %s", marker, id)
	}
	return at, nil
}
