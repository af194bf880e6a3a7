package tui

import (
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// The cells of a timeline bar.
const (
	cellIdle    = ' ' // before the job was created, or after it ended
	cellWaiting = '░' // created, not started yet
	cellRunning = '█' // started: running, or ran until it ended
)

// Span is what a timeline needs of a job (or of the worker): when it was
// created, started and ended (nil when not yet, or not known), and its
// phase.
type Span struct {
	Created, Started, Ended *time.Time
	Phase                   core.JobPhase
}

// before says the span ended before the scale starts.
func (s Span) before(sc Scale) bool { return s.Ended != nil && s.Ended.Before(sc.Start) }

// jobSpan is a job's Span.
func jobSpan(j core.Job) Span {
	s := Span{Created: j.Created, Phase: core.PhasePending}
	if j.Status != nil {
		s.Started, s.Ended = j.Status.Started, j.Status.Ended
		if j.Status.Phase != "" {
			s.Phase = j.Status.Phase
		}
	}
	return s
}

// Scale maps times onto Width columns: Start is the left edge of column 0
// and End the right edge of the last column.
type Scale struct {
	Start, End time.Time
	Width      int
}

// Column is the column t falls in, clamped to [0, Width]: Width means "at
// or after End" (the right edge).
func (sc Scale) Column(t time.Time) int {
	total := sc.End.Sub(sc.Start)
	if sc.Width <= 0 || total <= 0 {
		return 0
	}
	d := t.Sub(sc.Start)
	if d <= 0 {
		return 0
	}
	if d >= total {
		return sc.Width
	}
	return int(int64(d) * int64(sc.Width) / int64(total))
}

// Bar draws s on the scale as exactly sc.Width cells: idle before the job
// was created, waiting (░) from created until it started, running (█)
// from started until it ended (or, unfinished, until the end of the
// scale). A job that started always shows at least one running cell, so a
// short job is not lost between two columns. A job that ended without
// starting (canceled while pending, or failing to schedule) waits until it
// ended. A job with no created time waits from the start of the scale. A
// job that ended before the scale starts (one a retry kept from the run it
// retried) is all idle.
func Bar(s Span, sc Scale) string {
	if sc.Width <= 0 {
		return ""
	}
	cells := make([]rune, sc.Width)
	for i := range cells {
		cells[i] = cellIdle
	}
	if s.before(sc) {
		return string(cells)
	}
	// Where the waiting part starts: when the job was created (or the left
	// edge when that is not known).
	from := 0
	if s.Created != nil {
		from = sc.Column(*s.Created)
	}
	// Where the job's life ends on this scale: when it ended, else the
	// right edge (it is still going).
	until := sc.Width
	if s.Ended != nil {
		until = sc.Column(*s.Ended)
	}
	if s.Started == nil {
		if s.Ended == nil && s.Phase.IsTerminal() {
			// Finished with no times: nothing to place on the axis.
			return string(cells)
		}
		fill(cells, from, until, cellWaiting)
		return string(cells)
	}
	started := sc.Column(*s.Started)
	if started < from {
		from = started
	}
	fill(cells, from, started, cellWaiting)
	// At least one running cell, inside the bar.
	if started >= sc.Width {
		started = sc.Width - 1
	}
	if until <= started {
		until = started + 1
	}
	fill(cells, started, until, cellRunning)
	return string(cells)
}

// fill sets cells[from:to] (clamped) to c.
func fill(cells []rune, from, to int, c rune) {
	from, to = max(from, 0), min(to, len(cells))
	for i := from; i < to; i++ {
		cells[i] = c
	}
}

// Axis is the line under a timeline of width cells that lasts total: its
// start ("0s") on the left and its length on the right, with a tick at each
// quarter when there is room. It is exactly width cells (empty if width is
// not positive).
func Axis(total time.Duration, width int) string {
	if width <= 0 {
		return ""
	}
	line := []rune(strings.Repeat("─", width))
	line[0] = '├'
	line[width-1] = '┤'
	if width >= 24 {
		for q := 1; q < 4; q++ {
			line[q*(width-1)/4] = '┼'
		}
	}
	left, right := "0s", formatDuration(total)
	// Labels go over the ends of the line when they fit with a gap.
	if len(left)+len(right)+4 <= width {
		copy(line[1:], []rune(left))
		copy(line[width-1-len(right):], []rune(right))
	}
	return string(line)
}
