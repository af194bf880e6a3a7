package local

import (
	"bufio"
	"io"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// wantSeq checks that lines, the substrate's notes left out, are "1".."n".
func wantSeq(t *testing.T, lines []string, n int) {
	t.Helper()
	i := 0
	for _, l := range lines {
		if strings.HasPrefix(l, notePrefix) {
			continue
		}
		i++
		if l != strconv.Itoa(i) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
	if i != n {
		t.Fatalf("%d of %d lines stored", i, n)
	}
}

// TestLogEndPaths: every line a job wrote is stored, in order, by the time
// Wait returns, however the job ends.
func TestLogEndPaths(t *testing.T) {
	if _, err := exec.LookPath("seq"); err != nil {
		t.Skip("no seq program")
	}
	t.Run("ExitRightAfterAFlood", func(t *testing.T) {
		f := newFixture(t, Options{})
		st, lines := f.run(f.launch("flood", sh("seq 1 300000")))
		if st.Phase != core.PhaseSucceeded {
			t.Fatalf("job ended %s: %s", st.Phase, st.Reason)
		}
		wantSeq(t, lines, 300000)
	})
	t.Run("LinesWrittenWhileStopping", func(t *testing.T) {
		// The job writes half its lines, then waits; on SIGTERM it writes
		// the other half and exits.
		f := newFixture(t, Options{})
		jl := f.launch("stopped", sh(`trap 'seq 100001 200000; exit 0' TERM; seq 1 100000; sleep 1000 & wait`))
		if _, err := f.s.StartJob(f.ctx, jl); err != nil {
			t.Fatal(err)
		}
		stream := core.LogStream{EventID: f.ev, Job: "stopped", Container: "stopped"}
		if _, err := f.sink.WaitForLine(f.ctx, stream, "100000"); err != nil {
			t.Fatalf("waiting for the first half: %v", err)
		}
		ref := core.WorkloadRef{EventID: f.ev, Job: "stopped"}
		if err := f.s.Stop(f.ctx, ref, time.Minute); err != nil {
			t.Fatal(err)
		}
		st, err := f.s.Wait(f.ctx, ref)
		if err != nil || !st.Stopped {
			t.Fatalf("Wait = %+v, %v", st, err)
		}
		if !f.sink.Closed(stream) {
			t.Error("stream not closed when Wait returned")
		}
		wantSeq(t, f.sink.Lines(stream), 200000)
	})
}
