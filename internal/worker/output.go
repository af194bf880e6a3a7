package worker

import (
	"io"
	"sync"
	"time"
)

// Output buffering of the worker log. A script that logs in a loop would
// otherwise cost a write system call per line here and a read per line in
// whoever reads the pipe; buffered, a burst of lines goes out in writes of
// up to outputBuffer bytes.
const outputBuffer = 64 << 10

// flushAfter bounds how long a line waits in the buffer, so that someone
// following the log sees it promptly. (A variable for tests that need
// lines to stay buffered.)
var flushAfter = 2 * time.Millisecond

// output buffers writes to w. A buffered line goes out within flushAfter,
// when the buffer fills, or on Close, whichever comes first; Run closes it
// on every way out, a panic included. Only a death of the process it
// cannot see (SIGKILL, a fatal runtime error) loses what was written in
// the last flushAfter.
type output struct {
	w     io.Writer
	mu    sync.Mutex
	buf   []byte
	timer *time.Timer // flushes the buffer; armed while it holds data
	armed bool
	err   error // the first write error of w; later writes are dropped
}

func newOutput(w io.Writer) *output {
	o := &output{w: w, buf: make([]byte, 0, outputBuffer)}
	o.timer = time.AfterFunc(time.Hour, o.Flush)
	o.timer.Stop()
	return o
}

// Write buffers p. It reports the first error of the underlying writer.
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return 0, o.err
	}
	if len(o.buf)+len(p) > cap(o.buf) {
		o.flushLocked()
		if len(p) >= cap(o.buf) {
			if o.err == nil {
				_, o.err = o.w.Write(p)
			}
			if o.err != nil {
				return 0, o.err
			}
			return len(p), nil
		}
	}
	o.buf = append(o.buf, p...)
	if !o.armed {
		o.armed = true
		o.timer.Reset(flushAfter)
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (o *output) Flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.flushLocked()
}

func (o *output) flushLocked() {
	if o.armed {
		o.timer.Stop()
		o.armed = false
	}
	if len(o.buf) > 0 && o.err == nil {
		_, o.err = o.w.Write(o.buf)
	}
	o.buf = o.buf[:0]
}

// Close flushes and stops the timer; writes after it go straight to w.
func (o *output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.flushLocked()
	o.buf = o.buf[:0:0]
	return o.err
}
