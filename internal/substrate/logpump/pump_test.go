package logpump

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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

// slowSink takes one Append at a time, only when the test lets it, and
// records the largest batch it saw.
type slowSink struct {
	flakySink
	next     chan struct{}
	maxBytes int
}

func (s *slowSink) Append(ctx context.Context, st core.LogStream, entries []core.LogEntry) error {
	<-s.next
	n := 0
	for _, e := range entries {
		n += len(e.Message) + lineOverhead
	}
	s.mu.Lock()
	s.maxBytes = max(s.maxBytes, n)
	s.mu.Unlock()
	return s.flakySink.Append(ctx, st, entries)
}

func TestPumpBulk(t *testing.T) {
	t.Run("EmitAllNotesAndLinesKeepTheirOrder", func(t *testing.T) {
		sink := &flakySink{}
		p := New(sink, core.LogStream{EventID: "e"}, slog.New(slog.DiscardHandler), "test")
		p.Start()
		var want []string
		batch := make([]core.LogEntry, 0, 100)
		for i := range 2000 {
			switch i % 3 {
			case 0:
				p.Note(fmt.Sprint("note ", i))
				want = append(want, fmt.Sprint("note ", i))
			case 1:
				p.Line(fmt.Sprint("line ", i))
				want = append(want, fmt.Sprint("line ", i))
			default:
				batch = batch[:0]
				for k := range 50 {
					batch = append(batch, Entry(time.Now(), fmt.Sprint("bulk ", i, " ", k)))
					want = append(want, fmt.Sprint("bulk ", i, " ", k))
				}
				p.EmitAll(batch)
				clear(batch) // the pump keeps its own copy
			}
		}
		p.End(true)
		if !slices.Equal(sink.lines, want) || sink.closed != 1 {
			t.Fatalf("got %d lines (closed %d), want %d in order", len(sink.lines), sink.closed, len(want))
		}
	})
	t.Run("ASlowSinkGetsBoundedBatchesAndEveryLine", func(t *testing.T) {
		sink := &slowSink{next: make(chan struct{})}
		p := New(sink, core.LogStream{EventID: "e"}, slog.New(slog.DiscardHandler), "test")
		p.Start()
		const n, width = 100000, 100
		emitted := make(chan struct{})
		go func() {
			defer close(emitted)
			msg := strings.Repeat("x", width)
			batch := make([]core.LogEntry, 0, 64)
			for i := 0; i < n; i += 64 {
				batch = batch[:0]
				for k := i; k < min(i+64, n); k++ {
					batch = append(batch, Entry(time.Now(), fmt.Sprintf("%08d%s", k, msg)))
				}
				p.EmitAll(batch)
			}
		}()
		ended := make(chan struct{})
		go func() {
			<-emitted
			p.End(true)
			close(ended)
		}()
		for done := false; !done; {
			select {
			case sink.next <- struct{}{}:
			case <-ended:
				done = true
			}
		}
		if len(sink.lines) != n {
			t.Fatalf("%d lines stored, want %d", len(sink.lines), n)
		}
		for i, l := range sink.lines {
			if l[:8] != fmt.Sprintf("%08d", i) {
				t.Fatalf("line %d is %.8q", i, l)
			}
		}
		// The queue holds at most maxQueueBytes, plus what one EmitAll
		// brings once there is room.
		if limit := maxQueueBytes + 64*(width+8+lineOverhead); sink.maxBytes > limit {
			t.Fatalf("a batch of %d bytes; the queue should hold at most %d", sink.maxBytes, limit)
		}
	})
	t.Run("LinesAfterTheEndAreDroppedNotAPanic", func(t *testing.T) {
		sink := &flakySink{}
		p := New(sink, core.LogStream{EventID: "e"}, slog.New(slog.DiscardHandler), "test")
		p.Line("in time")
		p.End(true)
		p.Line("late")
		p.EmitAll([]core.LogEntry{Entry(time.Now(), "late too")})
		if !slices.Equal(sink.lines, []string{"in time"}) {
			t.Fatalf("lines %q", sink.lines)
		}
	})
}
