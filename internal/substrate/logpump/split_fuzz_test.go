package logpump

import (
	"bufio"
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzSplitLines feeds arbitrary output to the log line framing: no line
// is longer than MaxLineBytes, a cut never splits a UTF-8 sequence that was
// whole, and the lines with their newlines restored hold every byte of the
// output (apart from the "\r" of "\r\n" and the newline after a cut).
func FuzzSplitLines(f *testing.F) {
	for _, s := range []string{"a\nb\r\nc", "\n\n\n", "no newline", "\r\r\n", "é\xff\n"} {
		f.Add([]byte(s), uint16(0))
	}
	// Long lines come from short seeds repeated (pad), never from long
	// inputs: the fuzzer minimizes every new input, and minimizing tens of
	// kilobytes took longer than its 10 s limit for one input ("hung").
	f.Add([]byte("é"), uint16(40000))
	f.Add([]byte("xxxxxxx\n"), uint16(9000))
	f.Add([]byte("xxxxxxxx"), uint16(20000))
	f.Fuzz(func(t *testing.T, out []byte, pad uint16) {
		if len(out) > 256 {
			out = out[:256]
		}
		// pad makes long lines without a long seed: the output is repeated.
		data := out
		if pad > 0 && len(out) > 0 {
			data = bytes.Repeat(out, 1+int(pad)%((2*MaxLineBytes)/len(out)+1))
		}
		// Once, not per line: per line it was quadratic, and 76,000 short
		// lines of 98 KB took 13 s, past the fuzzer's 10 s limit.
		validData := utf8.Valid(data)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 4096), 2*MaxLineBytes)
		sc.Split(SplitLines())
		kept := 0
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) > MaxLineBytes {
				t.Fatalf("a line of %d bytes, over %d", len(line), MaxLineBytes)
			}
			if validData && !utf8.Valid(line) {
				t.Fatalf("a cut split a UTF-8 sequence: %q", line[max(0, len(line)-4):])
			}
			kept += len(line)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("scanning: %v", err)
		}
		dropped := bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{'\r'})
		if kept < len(data)-dropped || kept > len(data) {
			t.Fatalf("kept %d bytes of %d (%d newlines and returns)", kept, len(data), dropped)
		}
	})
}
