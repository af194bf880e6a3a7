package worker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that Run's flush timer and the test may
// share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// deadline bounds waits for something that must happen, on a busy machine.
const deadline = time.Minute

func TestOutput(t *testing.T) {
	t.Run("ALineGoesOutWithoutMoreWritesOrClose", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		o := newOutput(w)
		defer o.Close()
		lines := make(chan string, 1)
		go func() {
			l, _ := bufio.NewReader(r).ReadString('\n')
			lines <- l
		}()
		fmt.Fprintln(o, "a lone line")
		select {
		case l := <-lines:
			if l != "a lone line\n" {
				t.Fatalf("read %q", l)
			}
		case <-time.After(deadline):
			t.Fatal("the line never left the buffer")
		}
	})
	t.Run("EverythingInOrderAfterClose", func(t *testing.T) {
		var dst lockedBuffer
		o := newOutput(&dst)
		var want strings.Builder
		for i := range 5000 {
			s := fmt.Sprintf("line %d %s\n", i, strings.Repeat("x", i%200))
			if i%1000 == 999 {
				s = strings.Repeat("big", outputBuffer) + "\n" // larger than the buffer
			}
			want.WriteString(s)
			if _, err := io.WriteString(o, s); err != nil {
				t.Fatal(err)
			}
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		if dst.String() != want.String() {
			t.Fatalf("got %d bytes, want %d in the same order", len(dst.String()), want.Len())
		}
		fmt.Fprint(o, "after close\n") // goes straight through
		if !strings.HasSuffix(dst.String(), "after close\n") {
			t.Fatal("a write after Close was lost")
		}
	})
	t.Run("AWriteErrorIsReported", func(t *testing.T) {
		o := newOutput(failingWriter{})
		if _, err := io.WriteString(o, strings.Repeat("x", outputBuffer+1)); err == nil {
			t.Fatal("no error from a failing writer")
		}
		if err := o.Close(); err == nil {
			t.Fatal("Close forgot the error")
		}
	})
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// runScriptWorker runs script as the event's brigade.js with Stdout going
// to out.
func runScriptWorker(t *testing.T, ctx context.Context, script string, out io.Writer) int {
	t.Helper()
	doc := baseDoc()
	doc.Worker.LogLevel = "INFO"
	doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": script}
	dir := t.TempDir()
	b, _ := json.Marshal(doc)
	file := filepath.Join(dir, "event.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return Run(ctx, Options{EventFile: file, Stdout: out, Version: "test", APIOutage: testOutage})
}

// wantLines checks that log has the script's lines 0..n-1, in order.
func wantLines(t *testing.T, log string, n int) {
	t.Helper()
	i := 0
	for _, l := range strings.Split(log, "\n") {
		if !strings.HasPrefix(l, "line ") {
			continue
		}
		if l != fmt.Sprintf("line %d", i) {
			t.Fatalf("line %q where %q belongs", l, fmt.Sprintf("line %d", i))
		}
		i++
	}
	if i != n {
		t.Fatalf("%d of %d lines in the log", i, n)
	}
}

// TestRunFlushesOnEveryEnd: whatever way the script ends, every line it
// logged is in Stdout when Run returns, with no Close from the caller.
func TestRunFlushesOnEveryEnd(t *testing.T) {
	const n = 20000
	loop := fmt.Sprintf(`for (let i = 0; i < %d; i++) console.log("line " + i);`, n)
	for _, c := range []struct {
		name, end string
		code      int
	}{
		{"Success", "", 0},
		{"ProcessExit", "process.exit(3);", 3},
		{"UncaughtException", `throw new Error("boom");`, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out lockedBuffer
			code := runScriptWorker(t, t.Context(), loop+c.end, &out)
			if code != c.code {
				t.Fatalf("exit %d, want %d", code, c.code)
			}
			wantLines(t, out.String(), n)
		})
	}
	t.Run("Stopped", func(t *testing.T) {
		// The script logs, then creates a job; the fake API stops the run
		// (what SIGTERM does to a worker) when the job's creation comes.
		// Nothing flushes on a timer here, so the lines are still
		// buffered when the run is stopped.
		old := flushAfter
		flushAfter = time.Hour
		t.Cleanup(func() { flushAfter = old })
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		release := make(chan struct{})
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cancel()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer api.Close()
		defer close(release)
		doc := baseDoc()
		doc.Worker.APIAddress = api.URL
		doc.Worker.LogLevel = "INFO"
		doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": `
const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  for (let i = 0; i < 1000; i++) console.log("line " + i);
  await new Job("j", "debian", event).run();
});
events.process();
`}
		dir := t.TempDir()
		b, _ := json.Marshal(doc)
		file := filepath.Join(dir, "event.json")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var out lockedBuffer
		if code := Run(ctx, Options{EventFile: file, Stdout: &out, Version: "test", APIOutage: testOutage}); code == 0 {
			t.Fatalf("a stopped run exited 0:\n%s", out.String())
		}
		if ctx.Err() == nil {
			t.Fatalf("the run ended before it was stopped:\n%s", out.String())
		}
		wantLines(t, out.String(), 1000)
	})
}
