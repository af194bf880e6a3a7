package tui

import (
	"context"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// logBatch is the most lines one logMsg carries: a fast log is drawn in
// steps, not line by line.
const logBatch = 500

// openLogs shows the log of a job ("" for the worker) of the shown event,
// following it.
func (m *model) openLogs(job string) tea.Cmd {
	fetch := m.navigate(logsScreen)
	ctx, cancel := context.WithCancel(m.ctx)
	entries, errs := m.api.Logs(ctx, m.eventID, client.LogOptions{Job: job, Follow: true})
	m.logs = logState{job: job, cancel: cancel, entries: entries, errs: errs}
	return tea.Batch(fetch, readLogs(m.gen, entries, errs))
}

// stopLogs ends the stream the log screen reads, if any.
func (m *model) stopLogs() {
	if m.logs.cancel != nil {
		m.logs.cancel()
		m.logs.cancel = nil
	}
}

// readLogs waits for the next lines of a stream, and takes with them
// whatever else has already arrived.
func readLogs(gen int, entries <-chan core.LogEntry, errs <-chan error) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-entries
		if !ok {
			return logMsg{gen: gen, done: true, err: <-errs}
		}
		lines := []string{logLine(e.Message)}
		for len(lines) < logBatch {
			select {
			case e, ok := <-entries:
				if !ok {
					return logMsg{gen: gen, lines: lines, done: true, err: <-errs}
				}
				lines = append(lines, logLine(e.Message))
			default:
				return logMsg{gen: gen, lines: lines}
			}
		}
		return logMsg{gen: gen, lines: lines}
	}
}

// gotLogs adds lines that came and reads on.
func (m *model) gotLogs(msg logMsg) tea.Cmd {
	if msg.gen != m.gen || m.screen != logsScreen {
		return nil // the screen was left; its stream is canceled
	}
	l := &m.logs
	if l.back > 0 {
		l.back += len(msg.lines) // stay on the lines being read
	}
	l.lines = append(l.lines, msg.lines...)
	if n := len(l.lines) - maxLogLines; n > 0 {
		l.lines = append([]string(nil), l.lines[n:]...)
		l.back = min(l.back, len(l.lines)-1)
	}
	if msg.done {
		l.done, l.err = true, msg.err
		return nil
	}
	return readLogs(m.gen, l.entries, l.errs)
}

// logLine makes a log message safe to draw: no colour or cursor codes, no
// tabs or carriage returns.
func logLine(s string) string {
	s = ansi.Strip(s)
	s = strings.ReplaceAll(s, "\t", "    ")
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
