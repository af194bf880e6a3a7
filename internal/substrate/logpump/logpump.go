// Package logpump moves one container's (or process's) lines into one log
// stream of a core.LogSink, for every substrate: lines are queued in write
// order, batched into the sink (on size or every few milliseconds), retried
// with back-off if the sink refuses them, and the stream is closed once the
// last line is in. The queue is bounded, so a slow sink slows the reader of
// the output instead of dropping lines.
package logpump

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Batching and line limits.
const (
	MaxLineBytes    = 64 << 10 // longer lines are cut at a UTF-8 boundary
	maxBatchEntries = 1000
	maxBatchBytes   = 1 << 20
	flushEvery      = 10 * time.Millisecond
	appendAttempts  = 5
	appendTimeout   = 30 * time.Second
	queueLength     = 4096
)

// Entry stamps a line with t in UTC.
func Entry(t time.Time, msg string) core.LogEntry {
	t = t.UTC()
	return core.LogEntry{Time: &t, Message: msg}
}

// Pump feeds one log stream.
type Pump struct {
	sink   core.LogSink
	stream core.LogStream
	log    *slog.Logger
	who    string // "local substrate", "docker substrate": for diagnostics
	ch     chan core.LogEntry
	done   chan struct{} // closed when the flusher has stopped

	mu          sync.Mutex
	started     bool
	ended       bool // ch is closed
	closeStream bool // close the stream in the sink once flushed
}

// New makes a pump; lines may be queued before Start.
func New(sink core.LogSink, stream core.LogStream, log *slog.Logger, who string) *Pump {
	return &Pump{sink: sink, stream: stream, log: log, who: who,
		ch: make(chan core.LogEntry, queueLength), done: make(chan struct{})}
}

// Start begins delivering lines to the sink.
func (p *Pump) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		p.started = true
		go p.flushLoop()
	}
}

// Emit queues a line of the output. Only the output's reader calls it, and
// only before End.
func (p *Pump) Emit(e core.LogEntry) { p.ch <- e }

// Line queues a line of the output stamped now.
func (p *Pump) Line(msg string) { p.Emit(Entry(time.Now(), msg)) }

// Note queues a line of the substrate's own; it is a no-op once ended.
func (p *Pump) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ended {
		p.ch <- Entry(time.Now(), msg)
	}
}

// End returns once every queued line is in the sink, closing the stream
// there when closeStream is set (a finished workload) and leaving it open
// otherwise (a substrate that stops following: the next server resumes).
func (p *Pump) End(closeStream bool) {
	p.mu.Lock()
	if !p.ended {
		p.ended, p.closeStream = true, closeStream
		close(p.ch)
	}
	p.mu.Unlock()
	p.Start()
	<-p.done
}

func (p *Pump) flushLoop() {
	defer close(p.done)
	for {
		e, ok := <-p.ch
		if !ok {
			break
		}
		batch := []core.LogEntry{e}
		size := len(e.Message)
		timer := time.NewTimer(flushEvery)
	collect:
		for len(batch) < maxBatchEntries && size < maxBatchBytes {
			select {
			case e, ok = <-p.ch:
				if !ok {
					break collect
				}
				batch = append(batch, e)
				size += len(e.Message)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		if !p.call("appending to", func(ctx context.Context) error { return p.sink.Append(ctx, p.stream, batch) }) {
			p.log.Error(p.who+": log lines lost: the log store refused them repeatedly",
				"event", p.stream.EventID, "job", p.stream.Job, "container", p.stream.Container, "lines", len(batch))
		}
		if !ok {
			break
		}
	}
	p.mu.Lock()
	closeStream := p.closeStream
	p.mu.Unlock()
	if closeStream {
		p.call("closing", func(ctx context.Context) error { return p.sink.Close(ctx, p.stream) })
	}
}

// call retries a sink operation with back-off; it reports success.
func (p *Pump) call(what string, f func(context.Context) error) bool {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
		err := f(ctx)
		cancel()
		if err == nil {
			return true
		}
		p.log.Warn(p.who+": "+what+" a log stream failed", "event", p.stream.EventID,
			"job", p.stream.Job, "container", p.stream.Container, "attempt", attempt, "err", err)
		if attempt == appendAttempts {
			return false
		}
		time.Sleep(backoff)
		backoff *= 2
	}
}

// SplitLines splits output into lines without their "\n" (or "\r\n"),
// cutting lines longer than MaxLineBytes at a UTF-8 boundary. The newline
// that ends a cut line does not make an empty line of its own.
func SplitLines() bufio.SplitFunc {
	cut := false // the previous token was a cut, not a whole line
	return func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 && i <= MaxLineBytes {
			if i == 0 && cut {
				cut = false
				return 1, nil, nil
			}
			cut = false
			return i + 1, bytes.TrimSuffix(data[:i], []byte{'\r'}), nil
		}
		if len(data) > MaxLineBytes {
			n := MaxLineBytes
			for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(data[n]); k++ {
				n--
			}
			cut = true
			return n, data[:n], nil
		}
		if atEOF && len(data) > 0 {
			cut = false
			return len(data), bytes.TrimSuffix(data, []byte{'\r'}), nil
		}
		if atEOF {
			return 0, nil, io.EOF
		}
		return 0, nil, nil
	}
}

// Stream names the log stream the pump feeds.
func (p *Pump) Stream() core.LogStream { return p.stream }
