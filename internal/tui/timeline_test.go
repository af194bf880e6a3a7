package tui

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/core"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s float64) *time.Time {
	t := t0.Add(time.Duration(s * float64(time.Second)))
	return &t
}

func TestScaleColumn(t *testing.T) {
	sc := Scale{Start: t0, End: *at(10), Width: 20}
	for _, tc := range []struct {
		s    float64
		want int
	}{
		{-5, 0}, {0, 0}, {0.49, 0}, {0.5, 1}, {5, 10}, {9.99, 19}, {10, 20}, {30, 20},
	} {
		if got := sc.Column(*at(tc.s)); got != tc.want {
			t.Errorf("Column(t0+%vs) = %d, want %d", tc.s, got, tc.want)
		}
	}
	for _, bad := range []Scale{{Start: t0, End: t0, Width: 20}, {Start: t0, End: *at(-1), Width: 20}, {Start: t0, End: *at(10)}} {
		if got := bad.Column(*at(5)); got != 0 {
			t.Errorf("%+v: Column = %d, want 0", bad, got)
		}
	}
}

func TestBar(t *testing.T) {
	ten := Scale{Start: t0, End: *at(10), Width: 10}
	for _, tc := range []struct {
		name string
		span Span
		sc   Scale
		want string
	}{
		{"NotCreatedYet", Span{Phase: core.PhasePending}, ten, "░░░░░░░░░░"},
		{"PendingSinceTwo", Span{Created: at(2), Phase: core.PhasePending}, ten, "  ░░░░░░░░"},
		{"StartingSinceTwo", Span{Created: at(2), Phase: core.PhaseStarting}, ten, "  ░░░░░░░░"},
		{"Running", Span{Created: at(1), Started: at(3), Phase: core.PhaseRunning}, ten, " ░░███████"},
		{"Finished", Span{Created: at(1), Started: at(3), Ended: at(6), Phase: core.PhaseSucceeded}, ten, " ░░███    "},
		{"StartedAtOnce", Span{Created: at(0), Started: at(0), Ended: at(10), Phase: core.PhaseFailed}, ten, "██████████"},
		{"ShorterThanACell", Span{Created: at(4.1), Started: at(4.2), Ended: at(4.3), Phase: core.PhaseSucceeded}, ten, "    █     "},
		{"StartedAtTheEnd", Span{Created: at(9.5), Started: at(10), Phase: core.PhaseRunning}, ten, "         █"},
		{"StartedAfterTheEnd", Span{Created: at(12), Started: at(13), Phase: core.PhaseRunning}, ten, "         █"},
		{"CreatedBeforeTheStart", Span{Created: at(-5), Started: at(2), Ended: at(4), Phase: core.PhaseSucceeded}, ten, "░░██      "},
		{"EndedBeforeTheStart", Span{Created: at(-9), Started: at(-8), Ended: at(-1), Phase: core.PhaseSucceeded}, ten, "          "},
		{"EndedAtTheStart", Span{Created: at(-9), Started: at(-8), Ended: at(0), Phase: core.PhaseSucceeded}, ten, "█         "},
		{"CanceledWhilePending", Span{Created: at(2), Ended: at(5), Phase: core.PhaseCanceled}, ten, "  ░░░     "},
		{"FinishedWithNoTimes", Span{Phase: core.PhaseSchedulingFailed}, ten, "          "},
		{"StartedBeforeCreated", Span{Created: at(5), Started: at(3), Ended: at(4), Phase: core.PhaseSucceeded}, ten, "   █      "},
		{"WidthOne", Span{Created: at(1), Started: at(3), Ended: at(6), Phase: core.PhaseSucceeded}, Scale{Start: t0, End: *at(10), Width: 1}, "█"},
		{"WidthZero", Span{Created: at(1), Started: at(3), Phase: core.PhaseRunning}, Scale{Start: t0, End: *at(10)}, ""},
		{"NegativeWidth", Span{Created: at(1), Phase: core.PhasePending}, Scale{Start: t0, End: *at(10), Width: -3}, ""},
		{"EmptyScale", Span{Created: at(0), Started: at(0), Phase: core.PhaseRunning}, Scale{Start: t0, End: t0, Width: 4}, "████"},
		{"Wide", Span{Created: at(0), Started: at(1), Ended: at(2), Phase: core.PhaseSucceeded}, Scale{Start: t0, End: *at(4), Width: 16}, "░░░░████        "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Bar(tc.span, tc.sc)
			if got != tc.want {
				t.Errorf("Bar = %q, want %q", got, tc.want)
			}
			if n := utf8.RuneCountInString(got); n != max(tc.sc.Width, 0) {
				t.Errorf("%d cells, want %d", n, tc.sc.Width)
			}
		})
	}
}

// TestBarFanOut draws the classic fan-out: twenty short jobs that start
// together beside one long one, and checks the shape.
func TestBarFanOut(t *testing.T) {
	sc := Scale{Start: t0, End: *at(200), Width: 40}
	long := Bar(Span{Created: at(1), Started: at(1), Ended: at(200), Phase: core.PhaseSucceeded}, sc)
	if want := "████████████████████████████████████████"; long != want {
		t.Fatalf("long bar %q", long)
	}
	for i := 0; i < 20; i++ {
		created := at(1 + float64(i)*0.1) // created one after another
		short := Bar(Span{Created: created, Started: at(1.5), Ended: at(11 + float64(i)*0.2), Phase: core.PhaseSucceeded}, sc)
		if want := "██                                      "; short != want {
			t.Fatalf("short bar %d %q, want %q", i, short, want)
		}
	}
}

func TestAxis(t *testing.T) {
	for _, tc := range []struct {
		total time.Duration
		width int
		want  string
	}{
		{12 * time.Second, 30, "├0s────┼──────┼──────┼────12s┤"},
		{1500 * time.Millisecond, 30, "├0s────┼──────┼──────┼───1.5s┤"},
		{12 * time.Second, 23, "├0s────────────────12s┤"},
		{90 * time.Second, 12, "├0s───1m30s┤"},
		{90 * time.Second, 11, "├0s──1m30s┤"},
		{90 * time.Second, 10, "├────────┤"},
		{time.Second, 2, "├┤"},
		{time.Second, 1, "┤"},
		{time.Second, 0, ""},
		{time.Second, -1, ""},
	} {
		got := Axis(tc.total, tc.width)
		if got != tc.want {
			t.Errorf("Axis(%v, %d) = %q, want %q", tc.total, tc.width, got, tc.want)
		}
		if n := utf8.RuneCountInString(got); n != max(tc.width, 0) {
			t.Errorf("Axis(%v, %d): %d cells", tc.total, tc.width, n)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0.0s", 0: "0.0s", 1560 * time.Millisecond: "1.5s", 9999 * time.Millisecond: "9.9s", 10 * time.Second: "10s",
		59 * time.Second: "59s", time.Minute: "1m00s",
		185 * time.Second: "3m05s", 2*time.Hour + 3*time.Minute: "2h03m", 50 * time.Hour: "2d02h",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	now := *at(100)
	for s, want := range map[float64]string{101: "0s ago", 95: "5s ago", -20: "2m ago", 100 - 7200: "2h ago", 100 - 3*86400: "3d ago"} {
		if got := ago(at(s), now); got != want {
			t.Errorf("ago(t0+%vs) = %q, want %q", s, got, want)
		}
	}
	if ago(nil, now) != "-" || ran(nil, nil, now) != "-" || ran(at(90), nil, now) != "10s" || ran(at(90), at(93), now) != "3.0s" {
		t.Error("ago or ran of missing or running times")
	}
}

func TestCell(t *testing.T) {
	for _, tc := range []struct {
		s    string
		w    int
		want string
	}{
		{"abc", 5, "abc  "}, {"abcdef", 4, "abc…"}, {"abc", 3, "abc"}, {"abc", 0, ""}, {"ab", -1, ""},
		{"\x1b[32mgreen\x1b[0m", 7, "\x1b[32mgreen\x1b[0m  "},
	} {
		if got := cell(tc.s, tc.w); got != tc.want {
			t.Errorf("cell(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.want)
		}
	}
}
