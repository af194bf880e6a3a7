package cli

import (
	"os"

	"golang.org/x/term"

	"github.com/brigadeplatform/brigade/internal/core"
)

// style colours what brig prints for people, or leaves it plain.
type style struct{ color bool }

func (a *app) style() style { return style{color: a.env.Color} }

// ANSI colours.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[90m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiCyan   = "\x1b[36m"
)

// labelColors tell the jobs' lines apart.
var labelColors = []string{"\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[32m", "\x1b[34m", "\x1b[96m", "\x1b[95m", "\x1b[93m", "\x1b[92m", "\x1b[94m"}

func (s style) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return code + text + ansiReset
}

// phase colours a phase by how it went: green for success, red for
// failure, yellow while it is under way, dim for canceled work.
func (s style) phase(p core.WorkerPhase) string {
	switch p {
	case core.PhaseSucceeded:
		return s.paint(ansiGreen, string(p))
	case core.PhaseFailed, core.PhaseTimedOut, core.PhaseSchedulingFailed:
		return s.paint(ansiRed, string(p))
	case core.PhaseRunning, core.PhaseStarting, core.PhasePending:
		return s.paint(ansiYellow, string(p))
	case core.PhaseAborted, core.PhaseCanceled, core.PhaseUnknown:
		return s.paint(ansiDim, string(p))
	}
	return string(p)
}

// label is a log line's "[name]", coloured by the name's turn.
func (s style) label(name string, turn int) string {
	l := "[" + name + "]"
	if name == workerLabel {
		return s.paint(ansiBold, l)
	}
	return s.paint(labelColors[turn%len(labelColors)], l)
}

// isTerminal reports whether f is an *os.File on a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}
