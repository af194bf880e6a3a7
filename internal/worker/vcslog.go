package worker

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// vcsLog is the event's vcs log stream, where the git clone's commands,
// output and errors go, as they went to Brigade's vcs init container. The
// worker's own output is stored by its substrate; this stream is written
// through the API instead (docs/api.md, "Writing the vcs log"), by a
// logpump.Pump: lines keep their order, are batched, and a refused batch
// is retried without being stored twice.
type vcsLog struct {
	pump    *logpump.Pump
	sink    *apiLogSink
	written atomic.Int64 // lines handed to the pump
}

// newVCSLog starts a vcs log for the event. Diagnostics of the pump (lines
// the API refused for good) go to the worker log.
func newVCSLog(c *client.Client, eventID string, workerLog io.Writer) *vcsLog {
	log := slog.New(slog.DiscardHandler)
	if workerLog != nil {
		log = slog.New(slog.NewTextHandler(workerLog, nil))
	}
	stream := core.LogStream{EventID: eventID, Container: "vcs"} // the name Brigade gave its clone's container
	sink := &apiLogSink{api: c}
	p := logpump.New(sink, stream, log, "worker")
	p.Start()
	return &vcsLog{pump: p, sink: sink}
}

// Line writes one line.
func (v *vcsLog) Line(msg string) {
	v.written.Add(1)
	v.pump.Line(msg)
}

// lineWriter returns a writer whose lines go to l, and a func that writes
// out a last unterminated line and returns once every line is handed to
// l. Writes may come from one goroutine at a time.
func lineWriter(l lineLog) (io.Writer, func()) {
	r, w := io.Pipe()
	var done sync.WaitGroup
	done.Add(1)
	go func() {
		defer done.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), 2*logpump.MaxLineBytes)
		sc.Split(logpump.SplitLines())
		for sc.Scan() {
			l.Line(sc.Text())
		}
		// Should the scanner ever stop early, drain the pipe so that git
		// does not block writing to it.
		io.Copy(io.Discard, r)
	}()
	return w, func() {
		w.Close()
		done.Wait()
	}
}

// Close stores what is queued and closes the stream, so that followers of
// the vcs log end.
func (v *vcsLog) Close() { v.pump.End(true) }

// cloneFailed is the worker log's line about a failed clone, after Close:
// short, pointing at the vcs log, unless that log could not be written in
// full; then it carries the error itself.
func (v *vcsLog) cloneFailed(cloneURL, eventID string, err error) string {
	if v.sink.stored == v.written.Load() {
		return fmt.Sprintf("cloning the project's source from %s failed; what git said is in the vcs log (brig event logs %s --container vcs)", cloneURL, eventID)
	}
	return fmt.Sprintf("cloning the project's source from %s failed (and the vcs log could not be written in full): %v", cloneURL, err)
}

// apiLogSink is a core.LogSink over the API for the worker's vcs stream.
// It counts the lines stored, which the server uses to recognise a retried
// batch. The pump calls it from one goroutine.
type apiLogSink struct {
	api    *client.Client
	stored int64
}

func (s *apiLogSink) Append(ctx context.Context, st core.LogStream, entries []core.LogEntry) error {
	return s.send(ctx, st, entries, false)
}

func (s *apiLogSink) Close(ctx context.Context, st core.LogStream) error {
	return s.send(ctx, st, nil, true)
}

// AppendAndClose sends a stream's last lines and its close in one request.
func (s *apiLogSink) AppendAndClose(ctx context.Context, st core.LogStream, entries []core.LogEntry) error {
	return s.send(ctx, st, entries, true)
}

func (s *apiLogSink) send(ctx context.Context, st core.LogStream, entries []core.LogEntry, close bool) error {
	if err := s.api.AppendWorkerLog(ctx, st.EventID, st.Container, s.stored, entries, close); err != nil {
		return err
	}
	s.stored += int64(len(entries))
	return nil
}
