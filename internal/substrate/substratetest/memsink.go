package substratetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
)

// MemSink is an in-memory core.LogSink that records every Append and Close,
// checks the sink protocol (no Append after Close, one Close per stream,
// every entry stamped) and lets a test wait for a line without sleeping.
// It is safe for concurrent use.
type MemSink struct {
	mu         sync.Mutex
	streams    map[core.LogStream]*memStream
	order      []core.LogStream
	violations []string
	changed    chan struct{} // closed and replaced on every change
}

type memStream struct {
	entries []core.LogEntry
	appends int
	closes  int
}

// NewMemSink returns an empty sink.
func NewMemSink() *MemSink {
	return &MemSink{streams: map[core.LogStream]*memStream{}, changed: make(chan struct{})}
}

func (m *MemSink) stream(s core.LogStream) *memStream {
	st, ok := m.streams[s]
	if !ok {
		st = &memStream{}
		m.streams[s] = st
		m.order = append(m.order, s)
	}
	return st
}

func (m *MemSink) notify() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Append implements core.LogSink.
func (m *MemSink) Append(_ context.Context, s core.LogStream, entries []core.LogEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.stream(s)
	if st.closes > 0 {
		m.violations = append(m.violations, fmt.Sprintf("%d entries appended to %s after it was closed", len(entries), fmtStream(s)))
	}
	for i, e := range entries {
		if e.Time == nil || e.Time.IsZero() {
			m.violations = append(m.violations, fmt.Sprintf("entry %d of an append to %s has no time: %q", len(st.entries)+i+1, fmtStream(s), e.Message))
		}
		if e.Time != nil {
			t := *e.Time
			e.Time = &t
		}
		st.entries = append(st.entries, e)
	}
	st.appends++
	m.notify()
	return nil
}

// Close implements core.LogSink.
func (m *MemSink) Close(_ context.Context, s core.LogStream) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.stream(s)
	st.closes++
	if st.closes == 2 {
		m.violations = append(m.violations, fmt.Sprintf("%s closed more than once", fmtStream(s)))
	}
	m.notify()
	return nil
}

// Entries returns a copy of a stream's entries in append order.
func (m *MemSink) Entries(s core.LogStream) []core.LogEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.streams[s]; ok {
		return slices.Clone(st.entries)
	}
	return nil
}

// Lines returns a stream's messages in append order.
func (m *MemSink) Lines(s core.LogStream) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.streams[s]
	if !ok {
		return nil
	}
	out := make([]string, len(st.entries))
	for i, e := range st.entries {
		out[i] = e.Message
	}
	return out
}

// Closed reports whether Close was called for the stream.
func (m *MemSink) Closed(s core.LogStream) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.streams[s]
	return ok && st.closes > 0
}

// Appends counts the Append calls a stream received (batching shows here).
func (m *MemSink) Appends(s core.LogStream) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.streams[s]; ok {
		return st.appends
	}
	return 0
}

// Streams lists every stream that got an Append or a Close, first seen first.
func (m *MemSink) Streams() []core.LogStream {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.order)
}

// Violations lists the protocol errors seen so far.
func (m *MemSink) Violations() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.violations)
}

// WaitFor blocks until cond holds for the stream's lines, the stream is
// closed without cond holding (an error), or ctx ends. It polls nothing:
// every Append and Close wakes it.
func (m *MemSink) WaitFor(ctx context.Context, s core.LogStream, cond func(lines []string) bool) error {
	for {
		m.mu.Lock()
		ch := m.changed
		st := m.streams[s]
		var lines []string
		closed := false
		if st != nil {
			lines = make([]string, len(st.entries))
			for i, e := range st.entries {
				lines[i] = e.Message
			}
			closed = st.closes > 0
		}
		m.mu.Unlock()
		if cond(lines) {
			return nil
		}
		if closed {
			return fmt.Errorf("%s was closed before the expected line came; it holds %d lines: %s",
				fmtStream(s), len(lines), abbreviate(lines))
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for a line in %s (it holds %d lines: %s): %w",
				fmtStream(s), len(lines), abbreviate(lines), ctx.Err())
		}
	}
}

// WaitForLine waits for a line that starts with prefix and returns it.
func (m *MemSink) WaitForLine(ctx context.Context, s core.LogStream, prefix string) (string, error) {
	var found string
	err := m.WaitFor(ctx, s, func(lines []string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				found = l
				return true
			}
		}
		return false
	})
	return found, err
}

func fmtStream(s core.LogStream) string {
	if s.Job == "" {
		return fmt.Sprintf("log stream %s of the worker of event %s", s.Container, s.EventID)
	}
	return fmt.Sprintf("log stream %s of job %s of event %s", s.Container, s.Job, s.EventID)
}

// abbreviate renders at most the first and last few lines of a log.
func abbreviate(lines []string) string {
	const keep = 6
	clip := func(l string) string {
		if len(l) > 120 {
			return l[:120] + fmt.Sprintf("…(%d bytes)", len(l))
		}
		return l
	}
	var out []string
	if len(lines) <= 2*keep {
		for _, l := range lines {
			out = append(out, clip(l))
		}
	} else {
		for _, l := range lines[:keep] {
			out = append(out, clip(l))
		}
		out = append(out, fmt.Sprintf("… %d more …", len(lines)-2*keep))
		for _, l := range lines[len(lines)-keep:] {
			out = append(out, clip(l))
		}
	}
	return fmt.Sprintf("%q", out)
}
