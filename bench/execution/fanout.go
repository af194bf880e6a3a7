package main

import (
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// fanoutTimes are the moments of a fan-out event, all stamped by the server.
type fanoutTimes struct {
	created, firstStart, lastStart, lastEnd time.Time
}

// ideal is how long one fan-out job sleeps.
const ideal = 10 * time.Second

func measureFanout(ev *core.Event, n int) (fanoutTimes, error) {
	f := fanoutTimes{created: *ev.Metadata.Created}
	if len(ev.Worker.Jobs) != n {
		return f, fmt.Errorf("event %s has %d jobs; want %d", ev.Metadata.ID, len(ev.Worker.Jobs), n)
	}
	for _, j := range ev.Worker.Jobs {
		if j.Status == nil || j.Status.Phase != core.PhaseSucceeded || j.Status.Started == nil || j.Status.Ended == nil {
			return f, fmt.Errorf("event %s: job %s did not succeed: %+v", ev.Metadata.ID, j.Name, j.Status)
		}
		if f.firstStart.IsZero() || j.Status.Started.Before(f.firstStart) {
			f.firstStart = *j.Status.Started
		}
		if j.Status.Started.After(f.lastStart) {
			f.lastStart = *j.Status.Started
		}
		if j.Status.Ended.After(f.lastEnd) {
			f.lastEnd = *j.Status.Ended
		}
	}
	return f, nil
}

// print writes the figure: event created → last job end over the ideal, with
// where the rest of the time went. accepted is when the client got the 201.
func (f fanoutTimes) print(target string, accepted time.Time) {
	total := f.lastEnd.Sub(f.created)
	fmt.Printf("  event created → last job end %.3f s; ideal %.0f s; ratio %.4f (target ≤ %s)\n",
		total.Seconds(), ideal.Seconds(), total.Seconds()/ideal.Seconds(), target)
	fmt.Printf("  created → 201 %.1f ms, → first job start %.1f ms, → last job start %.1f ms; first start → last end %.3f s\n",
		ms(accepted.Sub(f.created)), ms(f.firstStart.Sub(f.created)), ms(f.lastStart.Sub(f.created)), f.lastEnd.Sub(f.firstStart).Seconds())
}
