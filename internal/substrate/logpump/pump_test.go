package logpump

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// flakySink refuses the first fails appends, then keeps everything.
type flakySink struct {
	mu     sync.Mutex
	fails  int
	lines  []string
	closed int
}

func (f *flakySink) Append(_ context.Context, _ core.LogStream, entries []core.LogEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return errors.New("store busy")
	}
	for _, e := range entries {
		f.lines = append(f.lines, e.Message)
	}
	return nil
}

func (f *flakySink) Close(context.Context, core.LogStream) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

func TestPump(t *testing.T) {
	t.Run("EveryLineInOrderDespiteRefusalsThenClosed", func(t *testing.T) {
		sink := &flakySink{fails: 2}
		p := New(sink, core.LogStream{EventID: "e"}, slog.New(slog.DiscardHandler), "test")
		p.Note("[brigade] before start")
		p.Start()
		for i := 0; i < 10000; i++ {
			p.Line(fmt.Sprint(i))
		}
		p.End(true)
		if len(sink.lines) != 10001 || sink.lines[0] != "[brigade] before start" || sink.lines[10000] != "9999" {
			t.Fatalf("got %d lines", len(sink.lines))
		}
		for i := 1; i < len(sink.lines); i++ {
			if sink.lines[i] != fmt.Sprint(i-1) {
				t.Fatalf("line %d is %q", i, sink.lines[i])
			}
		}
		if sink.closed != 1 {
			t.Fatalf("stream closed %d times", sink.closed)
		}
		p.Note("after the end") // a no-op, not a panic
	})
	t.Run("EndWithoutCloseLeavesTheStreamOpen", func(t *testing.T) {
		sink := &flakySink{}
		p := New(sink, core.LogStream{EventID: "e"}, slog.New(slog.DiscardHandler), "test")
		p.Line("x")
		p.End(false) // also starts a pump that was never started
		if len(sink.lines) != 1 || sink.closed != 0 {
			t.Fatalf("lines %v, closed %d", sink.lines, sink.closed)
		}
	})
}
