package local

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// logPump moves one process's output into one log stream: a reader
// goroutine splits the pipe into lines and hands them, a read at a time, to
// a logpump.Pump, which batches them into the sink. The pump's queue is bounded, so a slow
// sink slows the reader (and, through the pipe, the writer) instead of
// dropping lines.
type logPump struct {
	*logpump.Pump

	r        *os.File      // the pipe's read end; nil when nothing runs
	readDone chan struct{} // closed when the reader stopped; nil without r
}

func newLogPump(sink core.LogSink, stream core.LogStream, log *slog.Logger) *logPump {
	return &logPump{Pump: logpump.New(sink, stream, log, "local substrate")}
}

// read starts reading r until EOF (or until r is closed).
func (p *logPump) read(r *os.File) {
	p.r = r
	p.readDone = make(chan struct{})
	go p.readLoop()
}

// readBuffer is how much of the pipe one read takes. It must exceed
// logpump.MaxLineBytes, so that a full buffer always holds a line or a cut.
const readBuffer = 256 << 10

// readBuffers keeps read buffers for the next process: most jobs write
// little, and a fresh 256 KiB buffer per process costs its allocation and
// zeroing on every start.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, readBuffer); return &b }}

func (p *logPump) readLoop() {
	defer close(p.readDone)
	defer p.r.Close()
	readLines(p.r, p.EmitAll)
	// A read error other than EOF can only be the forced close of a pipe
	// that processes outside the group still held open; drain says so.
}

// readLines reads r to its end (or first error), splitting it into lines as
// logpump.SplitLines does, and hands over the lines of each read at once,
// stamped with the time of that read. The lines of one read share one
// string and one time, so a fast writer costs an allocation per read, not
// per line.
func readLines(r io.Reader, emit func([]core.LogEntry)) {
	split := logpump.SplitLines()
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	buf := *bp
	var (
		end     int // buf[:end] holds data not yet split
		spans   [][2]int
		entries []core.LogEntry
	)
	for eof := false; !eof; {
		n, err := r.Read(buf[end:])
		end += n
		eof = err != nil
		if n == 0 && !eof {
			continue
		}
		t := time.Now().UTC()
		spans = spans[:0]
		pos := 0
		for pos < end || eof {
			adv, tok, serr := split(buf[pos:end], eof)
			if serr != nil || (adv == 0 && tok == nil) {
				break
			}
			if tok != nil {
				spans = append(spans, [2]int{pos, pos + len(tok)})
			}
			pos += adv
		}
		if len(spans) > 0 {
			first, last := spans[0][0], spans[len(spans)-1][1]
			text := string(buf[first:last])
			entries = entries[:0]
			for _, sp := range spans {
				entries = append(entries, core.LogEntry{Time: &t, Message: text[sp[0]-first : sp[1]-first]})
			}
			emit(entries)
			clear(entries) // the pump copied them; do not pin their text
		}
		end = copy(buf, buf[pos:end])
	}
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
	p.Note(notePrefix + "stopped reading this log: processes that left the job's process group still hold its output open")
}
