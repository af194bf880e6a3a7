package web

import (
	"fmt"
	"net/url"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// The timeline is an SVG drawn on the server: one row per job, a bar from
// its start to its end (or to now while it runs), on one time axis shared
// by every job, so that 20 parallel jobs beside one long sequential job
// show that shape at a glance. Coordinates are in viewBox units.
const (
	tlWidth   = 1000
	tlLabelW  = 190 // job names, left of the bars
	tlRight   = 12
	tlTop     = 26 // the axis and its labels
	tlRowH    = 18
	tlBarH    = 12
	tlMinBarW = 3 // a job of a few milliseconds still shows
)

type timeline struct {
	Width, Height int
	TrackX        int
	LabelX        int
	TrackW        int
	Rows          []timelineRow
	Ticks         []timelineTick
	Span          string // the axis' length, for people
	Empty         bool
}

type timelineRow struct {
	Name, Phase, Href, Title string
	Y, TextY                 int
	X, W                     float64
	Running                  bool
}

type timelineTick struct {
	X     float64
	Label string
}

// tickSteps are the spacings the axis picks from: the smallest that
// leaves at most eight ticks.
var tickSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// buildTimeline lays out ev's jobs at time now.
func buildTimeline(ev *core.Event, now time.Time) timeline {
	tl := timeline{Width: tlWidth, TrackX: tlLabelW, LabelX: tlLabelW - 8, TrackW: tlWidth - tlLabelW - tlRight}
	if ev.Worker == nil || len(ev.Worker.Jobs) == 0 {
		tl.Empty = true
		tl.Height = tlTop
		return tl
	}
	ws := ev.Worker.Status
	terminal := ws.Phase.IsTerminal()
	// The end of a job that has none: now while the event runs, else the
	// worker's end (a job cut short by a cancel), else its own start.
	openEnd := func(start time.Time) time.Time {
		if !terminal {
			return now
		}
		if ws.Ended != nil && ws.Ended.After(start) {
			return *ws.Ended
		}
		return start
	}
	type span struct{ start, end time.Time }
	spans := make([]span, len(ev.Worker.Jobs))
	var t0, t1 time.Time
	for i, j := range ev.Worker.Jobs {
		var s span
		switch {
		case j.Status != nil && j.Status.Started != nil:
			s.start = *j.Status.Started
		case j.Created != nil:
			s.start = *j.Created
		default:
			s.start = now
		}
		if j.Status != nil && j.Status.Ended != nil {
			s.end = *j.Status.Ended
		} else {
			s.end = openEnd(s.start)
		}
		if s.end.Before(s.start) {
			s.end = s.start
		}
		spans[i] = s
		if t0.IsZero() || s.start.Before(t0) {
			t0 = s.start
		}
		if s.end.After(t1) {
			t1 = s.end
		}
	}
	if ws.Started != nil && ws.Started.Before(t0) {
		t0 = *ws.Started
	}
	total := t1.Sub(t0)
	if total < time.Second {
		total = time.Second
	}
	scale := float64(tl.TrackW) / float64(total)
	for i, j := range ev.Worker.Jobs {
		s := spans[i]
		phase := core.PhasePending
		if j.Status != nil && j.Status.Phase != "" {
			phase = j.Status.Phase
		}
		x := float64(tl.TrackX) + float64(s.start.Sub(t0))*scale
		w := float64(s.end.Sub(s.start)) * scale
		if w < tlMinBarW {
			w = tlMinBarW
		}
		y := tlTop + i*tlRowH
		tl.Rows = append(tl.Rows, timelineRow{
			Name: j.Name, Phase: string(phase), Href: "/events/" + ev.Metadata.ID + "/logs?job=" + url.QueryEscape(j.Name),
			Title: fmt.Sprintf("%s: %s, %s from %s", j.Name, phase, roundDuration(s.end.Sub(s.start)),
				roundDuration(s.start.Sub(t0))),
			Y: y + (tlRowH-tlBarH)/2, TextY: y + tlRowH - 5, X: x, W: w,
			Running: !phase.IsTerminal(),
		})
	}
	tl.Height = tlTop + len(ev.Worker.Jobs)*tlRowH + 4
	step := tickSteps[len(tickSteps)-1]
	for _, st := range tickSteps {
		if total/st <= 8 {
			step = st
			break
		}
	}
	for t := time.Duration(0); t <= total; t += step {
		tl.Ticks = append(tl.Ticks, timelineTick{X: float64(tl.TrackX) + float64(t)*scale, Label: shortDuration(t)})
	}
	tl.Span = roundDuration(total)
	return tl
}

// roundDuration is a duration as people read it: 1.2s, 3m4s.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// shortDuration labels an axis tick: 0s, 30s, 1m, 1m30s, 2h.
func shortDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.Round(time.Second).String()
	if len(s) > 3 && s[len(s)-3:] == "m0s" {
		s = s[:len(s)-2]
	}
	if len(s) > 3 && s[len(s)-3:] == "h0m" {
		s = s[:len(s)-2]
	}
	return s
}
