package standby

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// Output splits a standby's stdout, as the substrate reads it, into the
// output of each event's run (see End in the package doc).
type Output struct {
	r    io.Reader
	rest []byte // read past the end of the previous run (normally nothing)
}

// NewOutput reads a standby's output from r.
func NewOutput(r io.Reader) *Output { return &Output{r: r} }

// Run returns a reader of the current run's output: it ends (io.EOF) where
// the line that starts with end begins, or where the output itself ends.
func (o *Output) Run(end string) *RunOutput {
	pend := o.rest
	o.rest = nil
	return &RunOutput{o: o, end: []byte(end), pend: pend}
}

// readBufs are the buffers runs read into while they are read: a standby
// runs many events, and a buffer for each was most of what a busy server
// allocated.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// RunOutput is one run's output; see Output.Run.
type RunOutput struct {
	o     *Output
	end   []byte
	pend  []byte  // read but not yet returned
	buf   *[]byte // from readBufs while the run is read
	eof   bool    // the output itself ended (or failed)
	err   error
	found bool // the end line was read
	code  int
	done  bool
}

// Read returns output as soon as it is known not to be part of the end line.
func (r *RunOutput) Read(p []byte) (int, error) {
	for {
		if r.done {
			r.release()
			return 0, io.EOF
		}
		if len(r.pend) > 0 {
			n, stop := r.ready()
			if n > 0 {
				c := copy(p, r.pend[:n])
				r.pend = r.pend[c:]
				return c, nil
			}
			if stop {
				r.done = true
				r.release()
				return 0, io.EOF
			}
		}
		if r.eof {
			if len(r.pend) > 0 { // an unfinished end line: it is output
				c := copy(p, r.pend)
				r.pend = r.pend[c:]
				return c, nil
			}
			r.done = true
			r.release()
			if r.err != nil && r.err != io.EOF {
				return 0, r.err
			}
			return 0, io.EOF
		}
		if r.buf == nil {
			r.buf = readBufs.Get().(*[]byte)
		}
		n, err := r.o.r.Read(*r.buf)
		r.pend = append(r.pend, (*r.buf)[:n]...)
		if err != nil {
			r.eof, r.err = true, err
		}
	}
}

// release gives the read buffer back: a finished run may be kept a while.
func (r *RunOutput) release() {
	if r.buf != nil {
		readBufs.Put(r.buf)
		r.buf = nil
	}
}

// ready says how many bytes of pend can be returned, and whether the run
// ends right after them (the end line is complete and consumed).
func (r *RunOutput) ready() (int, bool) {
	if i := bytes.Index(r.pend, r.end); i >= 0 {
		if i > 0 {
			return i, false
		}
		nl := bytes.IndexByte(r.pend, '\n')
		if nl < 0 {
			return 0, false // the rest of the end line is still coming
		}
		code, err := strconv.Atoi(string(bytes.TrimSpace(r.pend[len(r.end):nl])))
		if err != nil {
			code = -1
		}
		r.found, r.code = true, code
		r.o.rest = append([]byte(nil), r.pend[nl+1:]...)
		r.pend = nil
		return 0, true
	}
	// Hold back a tail that could be the start of the end line.
	hold := 0
	for k := min(len(r.end)-1, len(r.pend)); k > 0; k-- {
		if bytes.HasSuffix(r.pend, r.end[:k]) {
			hold = k
			break
		}
	}
	return len(r.pend) - hold, false
}

// Code is the exit code the end line carried; ok is false when the output
// ended without one (the process is gone) or has not been read that far.
func (r *RunOutput) Code() (code int, ok bool) { return r.code, r.found }

// String names the run's end, for diagnostics.
func (r *RunOutput) String() string { return fmt.Sprintf("standby run ending at %q", r.end) }
