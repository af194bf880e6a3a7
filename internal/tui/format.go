package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/brigadeplatform/brigade/internal/core"
)

// formatDuration is a short human length: 0.4s, 7.2s, 42s, 3m05s, 2h03m,
// 4d02h.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%d.%ds", s, int64(d%time.Second/(100*time.Millisecond)))
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 48*3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	default:
		return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
	}
}

// ago says how long before now t was: "12s ago", "3m ago", "-" when t is
// not known.
func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	d := now.Sub(*t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", max(int(d/time.Second), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
}

// ran is how long something that started ran: until it ended, or until now
// while it goes on; "-" if it never started.
func ran(started, ended *time.Time, now time.Time) string {
	if started == nil {
		return "-"
	}
	end := now
	if ended != nil {
		end = *ended
	}
	return formatDuration(end.Sub(*started))
}

// cell fits s into exactly w cells: cut with "…" when longer, padded with
// spaces when shorter. s may hold colour codes.
func cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = ansi.Truncate(s, w, "…")
	if n := ansi.StringWidth(s); n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// styles colour the screens. Colour never changes the layout: without it
// the same cells are drawn plain (bold stays).
type styles struct {
	title, dim, errText, key lipgloss.Style
	phases                   map[core.WorkerPhase]lipgloss.Style
}

func newStyles(color bool) styles {
	fg := func(c string) lipgloss.Style {
		if !color {
			return lipgloss.NewStyle()
		}
		return lipgloss.NewStyle().Foreground(lipgloss.Color(c))
	}
	green, red, blue, yellow, grey, magenta := fg("2"), fg("1"), fg("6"), fg("3"), fg("8"), fg("5")
	return styles{
		title:   lipgloss.NewStyle().Bold(true),
		dim:     grey,
		errText: red.Bold(true),
		key:     lipgloss.NewStyle().Bold(true),
		phases: map[core.WorkerPhase]lipgloss.Style{
			core.PhaseSucceeded: green, core.PhaseFailed: red, core.PhaseTimedOut: red,
			core.PhaseSchedulingFailed: red, core.PhaseRunning: blue, core.PhaseStarting: yellow,
			core.PhasePending: yellow, core.PhaseCanceled: magenta, core.PhaseAborted: magenta,
			core.PhaseUnknown: grey,
		},
	}
}

// phase is the style of a phase (plain for one it does not know).
func (st styles) phase(p core.WorkerPhase) lipgloss.Style {
	if s, ok := st.phases[p]; ok {
		return s
	}
	return lipgloss.NewStyle()
}
