package dockerapi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// frame renders one frame of a multiplexed stream.
func frame(stream byte, payload string) []byte {
	b := make([]byte, 8, 8+len(payload))
	b[0] = stream
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	return append(b, payload...)
}

// readAll returns the frames as "stream:payload" until the end.
func readAll(t *testing.T, fr *FrameReader) []string {
	t.Helper()
	var out []string
	for {
		s, p, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", len(out), err)
		}
		out = append(out, fmt.Sprintf("%d:%s", s, p))
	}
}

func TestFrameReader(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB: more than any buffer
	var data []byte
	var want []string
	for i := range 20 { // stdout and stderr interleaved, of varied sizes
		s, p := byte(Stdout), fmt.Sprintf("out %d\n", i)
		if i%3 == 0 {
			s, p = Stderr, fmt.Sprintf("err %d %s\n", i, strings.Repeat("e", i*1000))
		}
		data = append(data, frame(s, p)...)
		want = append(want, fmt.Sprintf("%d:%s", s, p))
	}
	data = append(data, frame(Stdout, big)...)
	want = append(want, "1:"+big)
	data = append(data, frame(Stderr, "")...) // an empty frame
	want = append(want, "2:")
	data = append(data, frame(System, "log driver trouble")...)
	want = append(want, "3:log driver trouble")

	for name, r := range map[string]func() io.Reader{
		"Whole":     func() io.Reader { return bytes.NewReader(data) },
		"OneByte":   func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
		"Halves":    func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"DataErrAt": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	} {
		t.Run(name, func(t *testing.T) {
			if got := readAll(t, NewFrameReader(r())); !reflect.DeepEqual(got, want) {
				t.Errorf("got %d frames; want %d, the same", len(got), len(want))
			}
		})
	}
}

func TestFrameReaderBadStreams(t *testing.T) {
	whole := frame(Stdout, "whole\n")
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"CutInHeader":  {append(whole, frame(Stdout, "x")[:5]...), io.ErrUnexpectedEOF.Error()},
		"CutInPayload": {append(whole, frame(Stdout, "cut short")[:12]...), io.ErrUnexpectedEOF.Error()},
		"TTYStream":    {append(whole, []byte("plain text from a TTY\n")...), "not a multiplexed docker stream"},
		"HugeFrame":    {append(whole, 1, 0, 0, 0, 0x7f, 0, 0, 0), "over the"},
	} {
		t.Run(name, func(t *testing.T) {
			fr := NewFrameReader(bytes.NewReader(c.data))
			if _, p, err := fr.Next(); err != nil || string(p) != "whole\n" {
				t.Fatalf("first frame %q, %v", p, err)
			}
			_, _, err := fr.Next()
			if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Next = %v; want an error saying %q (not a clean end)", err, c.want)
			}
		})
	}
}
