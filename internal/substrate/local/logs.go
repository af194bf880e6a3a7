package local

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Log batching and line limits.
const (
	maxLineBytes    = 64 << 10
	maxBatchEntries = 1000
	maxBatchBytes   = 1 << 20
	flushEvery      = 10 * time.Millisecond
	appendAttempts  = 5
	appendTimeout   = 30 * time.Second
)

// logPump moves one process's output into one log stream: a reader
// goroutine splits the pipe into lines, a flusher goroutine batches them
// into the sink. The channel between them is bounded, so a slow sink
// slows the reader (and, through the pipe, the writer) instead of dropping.
type logPump struct {
	sink   core.LogSink
	stream core.LogStream
	log    *slog.Logger
	ch     chan core.LogEntry
	done   chan struct{} // closed once the stream is closed in the sink

	r        *os.File      // the pipe's read end; nil when nothing runs
	readDone chan struct{} // closed when the reader stopped; nil without r

	mu     sync.Mutex
	closed bool // ch is closed
}

func newLogPump(sink core.LogSink, stream core.LogStream, log *slog.Logger) *logPump {
	return &logPump{sink: sink, stream: stream, log: log,
		ch: make(chan core.LogEntry, 4096), done: make(chan struct{})}
}

// start starts delivering lines to the sink. Notes may be queued before.
func (p *logPump) start() { go p.flushLoop() }

func entry(msg string) core.LogEntry {
	t := time.Now().UTC()
	return core.LogEntry{Time: &t, Message: msg}
}

// note adds a line of the substrate's own. It is a no-op once finished.
func (p *logPump) note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.ch <- entry(msg)
	}
}

// read starts reading r until EOF (or until r is closed).
func (p *logPump) read(r *os.File) {
	p.r = r
	p.readDone = make(chan struct{})
	go p.readLoop()
}

func (p *logPump) readLoop() {
	defer close(p.readDone)
	defer p.r.Close()
	sc := bufio.NewScanner(p.r)
	sc.Buffer(make([]byte, 0, 32<<10), 2*maxLineBytes)
	sc.Split(lineSplitter())
	for sc.Scan() {
		p.ch <- entry(string(sc.Bytes()))
	}
	// A read error other than EOF can only be the forced close of a pipe
	// that processes outside the group still held open; drain says so.
}

// drain waits for the reader to reach EOF. If processes that left the
// process group keep the pipe open longer than timeout, it stops reading
// and says so in the log.
func (p *logPump) drain(timeout time.Duration) {
	if p.readDone == nil {
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.readDone:
		return
	case <-t.C:
	}
	_ = p.r.Close() // unblocks the pending Read
	<-p.readDone
	p.note(notePrefix + "stopped reading this log: processes that left the job's process group still hold its output open")
}

// finish closes the stream once every queued line is in the sink. Call it
// after drain; it blocks until the stream is closed.
func (p *logPump) finish() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.ch)
	}
	p.mu.Unlock()
	<-p.done
}

func (p *logPump) flushLoop() {
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
		p.append(batch)
		if !ok {
			break
		}
	}
	p.call("closing", func(ctx context.Context) error { return p.sink.Close(ctx, p.stream) })
}

func (p *logPump) append(batch []core.LogEntry) {
	if !p.call("appending to", func(ctx context.Context) error { return p.sink.Append(ctx, p.stream, batch) }) {
		p.log.Error("local substrate: log lines lost: the log store refused them repeatedly",
			"event", p.stream.EventID, "job", p.stream.Job, "container", p.stream.Container, "lines", len(batch))
	}
}

// call retries a sink operation with back-off; it reports success.
func (p *logPump) call(what string, f func(context.Context) error) bool {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
		err := f(ctx)
		cancel()
		if err == nil {
			return true
		}
		p.log.Warn("local substrate: "+what+" a log stream failed", "event", p.stream.EventID,
			"job", p.stream.Job, "container", p.stream.Container, "attempt", attempt, "err", err)
		if attempt == appendAttempts {
			return false
		}
		time.Sleep(backoff)
		backoff *= 2
	}
}

// lineSplitter splits output into lines without their "\n" (or "\r\n"),
// cutting lines longer than maxLineBytes at a UTF-8 boundary. The newline
// that ends a cut line does not make an empty line of its own.
func lineSplitter() bufio.SplitFunc {
	cut := false // the previous token was a cut, not a whole line
	return func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 && i <= maxLineBytes {
			if i == 0 && cut {
				cut = false
				return 1, nil, nil
			}
			cut = false
			return i + 1, bytes.TrimSuffix(data[:i], []byte{'\r'}), nil
		}
		if len(data) > maxLineBytes {
			n := maxLineBytes
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
