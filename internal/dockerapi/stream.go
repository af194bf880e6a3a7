package dockerapi

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The streams of a multiplexed stream's frames.
const (
	Stdin  = 0
	Stdout = 1
	Stderr = 2
	System = 3 // the daemon's own messages (a log driver's error)
)

// MaxFrameSize bounds one frame's payload. Docker's frames are a log
// message (at most 16 KiB and its timestamp) or one read of a
// container's output (32 KiB); anything far larger means the stream is
// not multiplexed.
const MaxFrameSize = 16 << 20

// FrameReader demultiplexes what docker sends for a container without a
// TTY (logs, attach): frames of an 8-byte header (the stream, three zero
// bytes, the payload's length as a big-endian uint32) and the payload.
type FrameReader struct {
	r   *bufio.Reader
	hdr [8]byte
	buf []byte
}

// NewFrameReader reads frames from r.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next frame's stream and payload; the payload is valid
// until the next call. At the end of the stream between frames it returns
// io.EOF; a stream that ends inside a frame is io.ErrUnexpectedEOF.
func (f *FrameReader) Next() (stream byte, payload []byte, err error) {
	if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		return 0, nil, err // io.EOF only when no byte of the header came
	}
	if f.hdr[0] > System || f.hdr[1] != 0 || f.hdr[2] != 0 || f.hdr[3] != 0 {
		return 0, nil, fmt.Errorf("not a multiplexed docker stream (a frame header % x): was the container created with a TTY?", f.hdr)
	}
	n := binary.BigEndian.Uint32(f.hdr[4:])
	if n > MaxFrameSize {
		return 0, nil, fmt.Errorf("a docker stream frame of %d bytes, over the %d a multiplexed stream has", n, MaxFrameSize)
	}
	if cap(f.buf) < int(n) {
		f.buf = make([]byte, n)
	}
	f.buf = f.buf[:n]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return f.hdr[0], f.buf, nil
}
