package docker

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// frame renders one message as docker's logs endpoint sends it.
func frame(stream byte, t time.Time, payload string) []byte {
	body := t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") + " " + payload
	hdr := make([]byte, 8)
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(body)))
	return append(hdr, body...)
}

func assemble(t *testing.T, data []byte) []line {
	t.Helper()
	var a assembler
	var out []line
	emit := func(l line) { out = append(out, l) }
	if err := readFrames(bytes.NewReader(data), func(s byte, ts time.Time, p []byte) { a.feed(s, ts, p, emit) }); err != nil {
		t.Fatal(err)
	}
	a.flush(emit)
	return out
}

func TestAssembler(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	t1 := t0.Add(time.Millisecond)
	long := strings.Repeat("x", 16384)
	var data []byte
	data = append(data, frame(streamStdout, t0, "first\n")...)
	data = append(data, frame(streamStdout, t1, long)...)      // partial …
	data = append(data, frame(streamStderr, t1, "err\r\n")...) // … interleaved with stderr …
	data = append(data, frame(streamStdout, t1, long)...)
	data = append(data, frame(streamStdout, t1, "\n")...) // … ends with an empty last part
	data = append(data, frame(streamStdout, t1, "\n")...) // an empty line
	data = append(data, frame(streamStdout, t1, "no newline")...)
	got := assemble(t, data)
	want := []string{"first", "err", long + long, "", "no newline"}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i, l := range got {
		if l.msg != want[i] {
			t.Errorf("line %d is %d bytes %.20q; want %d bytes %.20q", i, len(l.msg), l.msg, len(want[i]), want[i])
		}
	}
	if !got[0].t.Equal(t0) || !got[2].t.Equal(t1) {
		t.Errorf("times %v %v; want docker's", got[0].t, got[2].t)
	}
}

func TestAssemblerCutsHugeLines(t *testing.T) {
	t0 := time.Now()
	var data []byte
	for range 5 { // 5 × 16 KiB + "é" straddling the cut
		data = append(data, frame(streamStdout, t0, strings.Repeat("a", 16383)+"é")...)
	}
	data = append(data, frame(streamStdout, t0, "\n")...)
	got := assemble(t, data)
	var joined strings.Builder
	for _, l := range got {
		if len(l.msg) > logpump.MaxLineBytes {
			t.Errorf("a line of %d bytes; want at most %d", len(l.msg), logpump.MaxLineBytes)
		}
		joined.WriteString(l.msg)
	}
	if len(got) != 2 || joined.String() != strings.Repeat(strings.Repeat("a", 16383)+"é", 5) {
		t.Errorf("got %d pieces; want the line cut in 2 at a UTF-8 boundary", len(got))
	}
}

func TestReadFramesTruncated(t *testing.T) {
	data := frame(streamStdout, time.Now(), "whole\n")
	data = append(data, frame(streamStdout, time.Now(), "cut short\n")[:12]...)
	err := readFrames(bytes.NewReader(data), func(byte, time.Time, []byte) {})
	if err == nil {
		t.Fatal("a stream cut inside a frame read as a clean end; want an error (so the follower reads again)")
	}
}

// fakeLogs is a core.LogStore holding one stream.
type fakeLogs struct {
	core.LogStore
	entries []core.StoredLogEntry
}

func (f *fakeLogs) Read(_ context.Context, _ core.LogStream, after int64, limit int) ([]core.StoredLogEntry, error) {
	var out []core.StoredLogEntry
	for _, e := range f.entries {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func TestStoreResume(t *testing.T) {
	f := &fakeLogs{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(msg string, at time.Time) {
		f.entries = append(f.entries, core.StoredLogEntry{Seq: int64(len(f.entries) + 1), Time: at, Message: msg})
	}
	add(notePrefix+"pulling", t0)
	for i := range 2*resumePage + 7 {
		add("line", t0.Add(time.Duration(i+1)*time.Microsecond))
	}
	add(notePrefix+"stopping", t0.Add(time.Hour))
	pos, err := StoreResume(f)(context.Background(), core.LogStream{EventID: "e", Job: "j", Container: "j"})
	if err != nil {
		t.Fatal(err)
	}
	if pos.Lines != 2*resumePage+7 || !pos.Last.Equal(t0.Add((2*resumePage+7)*time.Microsecond)) {
		t.Errorf("position %+v; want %d lines, the last at %v", pos, 2*resumePage+7, t0.Add((2*resumePage+7)*time.Microsecond))
	}
}
