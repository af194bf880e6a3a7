package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func at(t0 time.Time, s float64) *time.Time {
	t := t0.Add(time.Duration(s * float64(time.Second)))
	return &t
}

// TestTimelineShowsTheFanOut: twenty 10 s jobs side by side and one 200 s
// job beside them: twenty short bars starting together, one bar across.
func TestTimelineShowsTheFanOut(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := &core.Event{Metadata: core.ObjectMeta{ID: "e"}, Worker: &core.Worker{Status: core.WorkerStatus{
		Phase: core.PhaseSucceeded, Started: at(t0, 0), Ended: at(t0, 201)}}}
	for i := 1; i <= 20; i++ {
		ev.Worker.Jobs = append(ev.Worker.Jobs, core.Job{Name: fmt.Sprintf("countdown-%d", i), Created: at(t0, 0.5),
			Status: &core.JobStatus{Phase: core.PhaseSucceeded, Started: at(t0, 1), Ended: at(t0, 11)}})
	}
	ev.Worker.Jobs = append(ev.Worker.Jobs, core.Job{Name: "countdown-long", Created: at(t0, 0.5),
		Status: &core.JobStatus{Phase: core.PhaseSucceeded, Started: at(t0, 1), Ended: at(t0, 201)}})
	tl := buildTimeline(ev, t0.Add(time.Hour))
	if len(tl.Rows) != 21 {
		t.Fatalf("%d rows", len(tl.Rows))
	}
	short, long := tl.Rows[0], tl.Rows[20]
	if long.W < 15*short.W || long.X != short.X {
		t.Fatalf("the long bar (x %.1f, w %.1f) should start with the short ones (x %.1f) and be 20 times longer (w %.1f)",
			long.X, long.W, short.X, short.W)
	}
	if end := long.X + long.W; end > float64(tl.TrackX+tl.TrackW)+0.01 {
		t.Fatalf("the long bar ends at %.1f, past the track's end %d", end, tl.TrackX+tl.TrackW)
	}
	if len(tl.Ticks) < 3 || len(tl.Ticks) > 9 || tl.Ticks[0].Label != "0s" {
		t.Fatalf("ticks: %+v", tl.Ticks)
	}
	for i := 1; i < 21; i++ {
		if tl.Rows[i].Y <= tl.Rows[i-1].Y {
			t.Fatalf("row %d is not below row %d", i, i-1)
		}
	}
}

// TestTimelineWhileRunning: a running job's bar reaches now; a pending
// one sits at its creation; an event without jobs says so.
func TestTimelineWhileRunning(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := &core.Event{Worker: &core.Worker{Status: core.WorkerStatus{Phase: core.PhaseRunning, Started: at(t0, 0)},
		Jobs: []core.Job{
			{Name: "runs", Created: at(t0, 0), Status: &core.JobStatus{Phase: core.PhaseRunning, Started: at(t0, 0)}},
			{Name: "waits", Created: at(t0, 5)},
		}}}
	tl := buildTimeline(ev, t0.Add(10*time.Second))
	run, wait := tl.Rows[0], tl.Rows[1]
	if !run.Running || run.X+run.W < float64(tl.TrackX+tl.TrackW)-0.01 {
		t.Fatalf("the running bar should reach now: %+v", run)
	}
	if wait.Phase != "PENDING" || wait.X < float64(tl.TrackX)+float64(tl.TrackW)/2-1 {
		t.Fatalf("the pending job should sit at 5 s of 10: %+v", wait)
	}
	if e := buildTimeline(&core.Event{}, t0); !e.Empty {
		t.Fatal("an event without a worker has an empty timeline")
	}
}
