package logpump

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// finalSink is a flakySink that can also append and close in one step.
type finalSink struct {
	flakySink
	finals int
}

func (f *finalSink) AppendAndClose(ctx context.Context, s core.LogStream, entries []core.LogEntry) error {
	if err := f.Append(ctx, s, entries); err != nil {
		return err
	}
	f.mu.Lock()
	f.finals++
	f.mu.Unlock()
	return f.Close(ctx, s)
}

func TestFinalBatchClosesInOneStep(t *testing.T) {
	for _, fails := range []int{0, 2} {
		t.Run(fmt.Sprintf("Refused%d", fails), func(t *testing.T) {
			sink := &finalSink{flakySink: flakySink{fails: fails}}
			p := New(sink, core.LogStream{EventID: "e"}, slog.New(slog.DiscardHandler), "test")
			// Every line is queued before End starts the pump, so its one
			// batch is the last one.
			p.Note("[brigade] note")
			for i := 0; i < 3000; i++ {
				p.Line(fmt.Sprint(i))
			}
			p.End(true)
			if len(sink.lines) != 3001 || sink.lines[3000] != "2999" {
				t.Fatalf("got %d lines", len(sink.lines))
			}
			if sink.closed != 1 || sink.finals != 1 {
				t.Fatalf("closed %d times, %d of them with the last lines; want once, with them", sink.closed, sink.finals)
			}
		})
	}
	t.Run("LeftOpen", func(t *testing.T) {
		sink := &finalSink{}
		p := New(sink, core.LogStream{EventID: "e"}, slog.New(slog.DiscardHandler), "test")
		p.Line("x")
		p.End(false)
		if len(sink.lines) != 1 || sink.closed != 0 || sink.finals != 0 {
			t.Fatalf("lines %v, closed %d, finals %d", sink.lines, sink.closed, sink.finals)
		}
	})
	t.Run("NothingWritten", func(t *testing.T) {
		sink := &finalSink{}
		p := New(sink, core.LogStream{EventID: "e"}, slog.New(slog.DiscardHandler), "test")
		p.End(true)
		if sink.closed != 1 {
			t.Fatalf("closed %d times", sink.closed)
		}
	})
}
