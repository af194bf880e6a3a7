package local

import (
	"bufio"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// choppyReader hands out its data in reads of random sizes, as a pipe
// does to a reader that keeps up with the writer.
type choppyReader struct {
	data string
	rnd  *rand.Rand
}

func (c *choppyReader) Read(p []byte) (int, error) {
	if c.data == "" {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.rnd.IntN(3*logpump.MaxLineBytes))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// TestReadLinesSplitsAsTheScannerDoes: reading a pipe a read at a time
// yields the lines that logpump.SplitLines makes of the whole output, in
// order, each stamped.
func TestReadLinesSplitsAsTheScannerDoes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "line", "\n", "\r\n", "\r", "€", "𝄞", "", strings.Repeat("x", 1000),
		strings.Repeat("y", logpump.MaxLineBytes-1), strings.Repeat("z", logpump.MaxLineBytes),
		strings.Repeat("w", logpump.MaxLineBytes+1), strings.Repeat("é", logpump.MaxLineBytes/2+3)}
	for round := range 200 {
		var b strings.Builder
		for range rnd.IntN(60) {
			b.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		in := b.String()
		sc := bufio.NewScanner(strings.NewReader(in))
		sc.Buffer(make([]byte, 0, 1024), 2*logpump.MaxLineBytes)
		sc.Split(logpump.SplitLines())
		var want []string
		for sc.Scan() {
			want = append(want, sc.Text())
		}
		var got []string
		readLines(&choppyReader{data: in, rnd: rnd}, func(entries []core.LogEntry) {
			for _, e := range entries {
				if e.Time == nil || e.Time.IsZero() {
					t.Fatalf("round %d: a line without a time", round)
				}
				got = append(got, e.Message)
			}
		})
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: %d lines, want %d (input of %d bytes)", round, len(got), len(want), len(in))
		}
	}
}
