// Package logpump moves one container's (or process's) lines into one log
// stream of a core.LogSink, for every substrate: lines are queued in write
// order, batched into the sink (on size or every few milliseconds), retried
// with back-off if the sink refuses them, and the stream is closed once the
// last line is in. The queue is bounded, so a slow sink slows the reader of
// the output instead of dropping lines.
//
// The queue is one slice guarded by a mutex: a reader hands over every line
// of a read at once (EmitAll), and the flusher takes everything queued at
// once, so a fast writer's lines cost no channel operation or wake-up each.
// While the sink stores one batch the reader fills the next, up to
// maxQueueBytes; then it waits.
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
	MaxLineBytes = 64 << 10 // longer lines are cut at a UTF-8 boundary
	// maxQueueBytes bounds what waits for the sink, and so one batch:
	// emitters wait while this much is queued. Each line counts its
	// message plus lineOverhead.
	maxQueueBytes  = 1 << 20
	lineOverhead   = 32
	flushEvery     = 10 * time.Millisecond // a line waits at most this long for more to share its batch
	appendAttempts = 5
	appendTimeout  = 30 * time.Second
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
	who    string        // "local substrate", "docker substrate": for diagnostics
	wake   chan struct{} // (cap 1) the flusher has something to look at
	done   chan struct{} // closed when the flusher has stopped

	mu          sync.Mutex
	room        sync.Cond // signalled when the flusher takes the queue
	queue       []core.LogEntry
	queued      int  // bytes in queue, as maxQueueBytes counts them
	started     bool // the flusher runs
	ended       bool // no more lines: End was called
	closeStream bool // close the stream in the sink once flushed
	dropped     int  // lines emitted after End (a bug of the caller), dropped
}

// New makes a pump; lines may be queued before Start.
func New(sink core.LogSink, stream core.LogStream, log *slog.Logger, who string) *Pump {
	p := &Pump{sink: sink, stream: stream, log: log, who: who,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.room.L = &p.mu
	return p
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
func (p *Pump) Emit(e core.LogEntry) {
	p.mu.Lock()
	p.waitRoom()
	p.push(e)
	p.mu.Unlock()
}

// EmitAll queues lines of the output, in order, as Emit would one by one
// but at once. The pump keeps its own copy of the slice.
func (p *Pump) EmitAll(entries []core.LogEntry) {
	if len(entries) == 0 {
		return
	}
	p.mu.Lock()
	p.waitRoom()
	for _, e := range entries {
		p.push(e)
	}
	p.mu.Unlock()
}

// Line queues a line of the output stamped now.
func (p *Pump) Line(msg string) { p.Emit(Entry(time.Now(), msg)) }

// Note queues a line of the substrate's own; it is a no-op once ended.
func (p *Pump) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ended {
		p.waitRoom()
		p.push(Entry(time.Now(), msg))
	}
}

// waitRoom waits (p.mu held) while the queue is full and a running flusher
// will empty it. Before Start nothing drains the queue, so it grows: only
// notes come before Start.
func (p *Pump) waitRoom() {
	for p.queued >= maxQueueBytes && p.started && !p.ended {
		p.room.Wait()
	}
}

// push queues e (p.mu held) and wakes the flusher when the queue was empty
// or has become a full batch.
func (p *Pump) push(e core.LogEntry) {
	if p.ended {
		if p.dropped++; p.dropped == 1 {
			p.log.Error(p.who+": a log line emitted after the end of its stream was dropped (and any more will be)",
				"event", p.stream.EventID, "job", p.stream.Job, "container", p.stream.Container)
		}
		return
	}
	was := p.queued
	p.queue = append(p.queue, e)
	p.queued += len(e.Message) + lineOverhead
	if was == 0 || (was < maxQueueBytes && p.queued >= maxQueueBytes) {
		p.signal()
	}
}

func (p *Pump) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// End returns once every queued line is in the sink, closing the stream
// there when closeStream is set (a finished workload) and leaving it open
// otherwise (a substrate that stops following: the next server resumes).
func (p *Pump) End(closeStream bool) {
	p.mu.Lock()
	if !p.ended {
		p.ended, p.closeStream = true, closeStream
		p.room.Broadcast()
		p.signal()
	}
	p.mu.Unlock()
	p.Start()
	<-p.done
}

// take waits until there is a batch to send and returns it; ok is false
// once the queue is empty and ended. A batch is everything queued once the
// queue is full, the stream ended, or flushEvery passed since the flusher
// saw the first of its lines.
func (p *Pump) take(timer *time.Timer) (batch []core.LogEntry, ok bool) {
	for {
		p.mu.Lock()
		n, full, ended := len(p.queue), p.queued >= maxQueueBytes, p.ended
		p.mu.Unlock()
		if n == 0 && ended {
			return nil, false
		}
		if n > 0 {
			if !full && !ended {
				p.coalesce(timer)
			}
			p.mu.Lock()
			batch, p.queue, p.queued = p.queue, make([]core.LogEntry, 0, len(p.queue)), 0
			p.room.Broadcast()
			p.mu.Unlock()
			return batch, true
		}
		<-p.wake
	}
}

// coalesce lets more lines join a batch: it returns after flushEvery, or
// earlier once the queue is full or ended.
func (p *Pump) coalesce(timer *time.Timer) {
	timer.Reset(flushEvery)
	defer func() {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}()
	for {
		select {
		case <-timer.C:
			return
		case <-p.wake:
			p.mu.Lock()
			full, ended := p.queued >= maxQueueBytes, p.ended
			p.mu.Unlock()
			if full || ended {
				return
			}
		}
	}
}

// FinalSink is a core.LogSink that can also store a stream's last lines
// and close the stream in one step (one transaction). The pump uses it for
// a finished workload's last batch: a job that writes little then costs
// one store write after it ends instead of two.
type FinalSink interface {
	core.LogSink
	AppendAndClose(ctx context.Context, s core.LogStream, entries []core.LogEntry) error
}

func (p *Pump) flushLoop() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	final, canFinish := p.sink.(FinalSink)
	closed := false
	for {
		batch, ok := p.take(timer)
		if !ok {
			break
		}
		p.mu.Lock()
		last := p.ended && p.closeStream && len(p.queue) == 0
		p.mu.Unlock()
		send := func(ctx context.Context) error { return p.sink.Append(ctx, p.stream, batch) }
		if last && canFinish {
			send = func(ctx context.Context) error { return final.AppendAndClose(ctx, p.stream, batch) }
		}
		if !p.call("appending to", send) {
			p.log.Error(p.who+": log lines lost: the log store refused them repeatedly",
				"event", p.stream.EventID, "job", p.stream.Job, "container", p.stream.Container, "lines", len(batch))
		} else if last && canFinish {
			closed = true
		}
	}
	p.mu.Lock()
	closeStream := p.closeStream
	p.mu.Unlock()
	if closeStream && !closed {
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
