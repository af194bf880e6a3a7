package standby

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestOutputSplitsRuns(t *testing.T) {
	const end = "\x1eEND-abc"
	stream := "line 1\npartial" + end + " 3\n" + "second run\n" + end + "0\n" + "after the last end"
	for name, r := range map[string]io.Reader{
		"whole":     strings.NewReader(stream),
		"bytewise":  iotest.OneByteReader(strings.NewReader(stream)),
		"halfreads": iotest.HalfReader(strings.NewReader(stream)),
	} {
		t.Run(name, func(t *testing.T) {
			o := NewOutput(r)
			want := []struct {
				out  string
				code int
				ok   bool
			}{{"line 1\npartial", 3, true}, {"second run\n", 0, true}, {"after the last end", 0, false}}
			for i, w := range want {
				run := o.Run(end)
				b, err := io.ReadAll(run)
				code, ok := run.Code()
				if err != nil || string(b) != w.out || code != w.code || ok != w.ok {
					t.Errorf("run %d = %q, %v, code %d %v; want %q, code %d %v", i, b, err, code, ok, w.out, w.code, w.ok)
				}
			}
		})
	}
}

// A tail that looks like the start of the end line is held back only
// until it proves not to be one.
func TestOutputReturnsLinesAtOnce(t *testing.T) {
	pr, pw := io.Pipe()
	o := NewOutput(pr)
	run := o.Run("\x1eEND")
	go pw.Write([]byte("hello\n"))
	buf := make([]byte, 64)
	if n, err := run.Read(buf); err != nil || string(buf[:n]) != "hello\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	go pw.Write([]byte("x\x1eE"))
	if n, err := run.Read(buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("Read = %q, %v; want the part that cannot be the end", buf[:n], err)
	}
	go pw.Write([]byte("nd of nothing\n"))
	if n, err := run.Read(buf); err != nil || string(buf[:n]) != "\x1eEnd of nothing\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	pw.Close()
	if _, err := run.Read(buf); err != io.EOF {
		t.Fatalf("Read after close = %v", err)
	}
}
