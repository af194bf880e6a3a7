package local

import (
	"bufio"
	"log/slog"
	"os"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// logPump moves one process's output into one log stream: a reader
// goroutine splits the pipe into lines and hands them to a logpump.Pump,
// which batches them into the sink. The pump's queue is bounded, so a slow
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

func (p *logPump) readLoop() {
	defer close(p.readDone)
	defer p.r.Close()
	sc := bufio.NewScanner(p.r)
	sc.Buffer(make([]byte, 0, 32<<10), 2*logpump.MaxLineBytes)
	sc.Split(logpump.SplitLines())
	for sc.Scan() {
		p.Line(string(sc.Bytes()))
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
	p.Note(notePrefix + "stopped reading this log: processes that left the job's process group still hold its output open")
}
