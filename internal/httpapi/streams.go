package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/schema"
)

// stream writes items in one of the two framings Brigade's SDKs read:
// bare JSON objects back to back (Go SDK), or server-sent events with a
// closing "done" event (JS SDK, sse=true).
type stream struct {
	w       http.ResponseWriter
	flusher http.Flusher
	sse     bool
	started bool
	code    int // the response's status; 0 is 200
}

func newStream(w http.ResponseWriter, r *http.Request) *stream {
	f, _ := w.(http.Flusher)
	return &stream{w: w, flusher: f, sse: queryBool(r, "sse")}
}

// start sends the headers at once, so clients know the stream is open
// before its first item.
func (s *stream) start() {
	if !s.started {
		s.header()
		s.flush()
	}
}

// header writes the headers without sending them: they go out with what
// is flushed next (one write for the headers and the first item).
func (s *stream) header() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	code := s.code
	if code == 0 {
		code = http.StatusOK
	}
	s.w.WriteHeader(code)
}

func (s *stream) flush() {
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

// item writes one JSON item; id > 0 adds an SSE "id:" line. The first
// item carries the headers.
func (s *stream) item(b []byte, id int64, flush bool) error {
	s.header()
	var buf bytes.Buffer
	if s.sse {
		buf.WriteString("event: message\ndata: ")
		buf.Write(b)
		buf.WriteString("\n")
		if id > 0 {
			buf.WriteString("id: " + strconv.FormatInt(id, 10) + "\n")
		}
		buf.WriteString("\n")
	} else {
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return err
	}
	if flush {
		s.flush()
	}
	return nil
}

// done ends an SSE stream with the "done" event; a plain stream just ends.
// Nothing is flushed: the handler returns next, and the server sends what
// is left together with the end of the body, in one write.
func (s *stream) done(id int64) {
	s.header()
	if s.sse {
		frame := "event: done\ndata: done\n"
		if id > 0 {
			frame += "id: " + strconv.FormatInt(id, 10) + "\n"
		}
		s.w.Write([]byte(frame + "\n"))
	}
}

// subscribe returns channels that receive a value after commits that may
// have changed what a watch sends (either may be nil), and their cancel.
type subscribe func() (changes, also <-chan struct{}, cancel func())

// watch streams a worker's or job's status: the current one at once, then
// each change as it is committed (no polling), until a terminal phase.
// With final=true (an addition, docs/api.md) it sends the terminal status
// alone: the headers at once, the status when it comes. The response's
// status is code (0: 200).
func (h *handler) watch(w http.ResponseWriter, r *http.Request, code int, sub subscribe,
	get func(ctx context.Context) (any, core.WorkerPhase, error)) {
	ctx := r.Context()
	changes, also, cancel := sub()
	defer cancel()
	st := newStream(w, r)
	st.code = code
	final := queryBool(r, "final")
	var last []byte
	for {
		v, phase, err := get(ctx)
		if err != nil {
			if !st.started {
				h.writeError(w, r, err)
			}
			return // the object vanished mid-stream: just close
		}
		terminal := phase.IsTerminal()
		if final && !terminal {
			st.start() // found: the client knows now, the status comes at the end
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				h.log.Error("encoding status", "error", err)
				return
			}
			if !bytes.Equal(b, last) {
				// The last item goes out with the end of the body (done).
				if err := st.item(b, 0, !terminal); err != nil {
					return
				}
				last = b
			}
		}
		if terminal {
			st.done(0)
			return
		}
		select {
		case <-changes:
		case <-also:
		case <-ctx.Done():
			return
		}
	}
}

// logBatch bounds how many lines one read takes from the store.
const logBatch = 500

// logs streams a worker's or job's log (docs/api.md, "Log streams"). It waits while the
// writer is PENDING or STARTING, sends what is stored, and with follow=true
// goes on as lines are committed until the stream is closed or the writer
// has finished.
func (h *handler) logs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	var after int64
	resume := r.Header.Get("Last-Event-ID")
	if resume == "" {
		resume = q.Get("lastEventId")
	}
	if resume != "" {
		n, err := strconv.ParseInt(resume, 10, 64)
		if err != nil || n < 0 {
			h.writeError(w, r, core.NewBadRequest("Value of last id was not parseable as an int. Send a whole number as Last-Event-ID (or lastEventId), not "+strconv.Quote(resume)+"."))
			return
		}
		after = n
	}
	eventID := r.PathValue("id")
	target, err := h.svc.ResolveLogs(ctx, eventID, q.Get("job"), q.Get("container"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	follow := queryBool(r, "follow")
	events, cancelEvents := h.svc.Changes(eventID)
	defer cancelEvents()
	lines, cancelLines := h.svc.LogChanges(target.Stream.EventID)
	defer cancelLines()

	// Wait for the writer to start before answering.
	for {
		phase, err := target.Phase(ctx)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if phase != core.PhasePending && phase != core.PhaseStarting {
			break
		}
		select {
		case <-events:
		case <-lines:
			// Lines before RUNNING is reported: start streaming.
			goto stream
		case <-ctx.Done():
			return
		}
	}
stream:
	st := newStream(w, r)
	st.start()
	for {
		// Observe "finished" before reading, so lines committed before the
		// close are always read by the read that follows.
		finished, err := h.logsFinished(ctx, target)
		if err != nil {
			h.log.Warn("checking log stream state", "error", err)
			return
		}
		for {
			entries, err := target.Read(ctx, after, logBatch)
			if err != nil {
				h.log.Warn("reading logs", "event", eventID, "error", err)
				return
			}
			for i, e := range entries {
				t := e.Time
				b, err := enveloped("LogEntry", core.LogEntry{Time: &t, Message: e.Message})
				if err != nil {
					return
				}
				if err := st.item(b, e.Seq, i == len(entries)-1); err != nil {
					return
				}
				after = e.Seq
			}
			if len(entries) < logBatch {
				break
			}
		}
		if !follow || finished {
			st.done(after + 1)
			return
		}
		select {
		case <-lines:
		case <-events:
		case <-ctx.Done():
			return
		}
	}
}

// logsFinished reports whether no more lines can come: the stream was
// closed by its writer, or the worker or job is in a terminal phase (the
// substrate stores every line before it reports a workload finished).
func (h *handler) logsFinished(ctx context.Context, t *api.LogTarget) (bool, error) {
	closed, err := t.Closed(ctx)
	if err != nil || closed {
		return closed, err
	}
	phase, err := t.Phase(ctx)
	if err != nil {
		return false, err
	}
	return phase.IsTerminal(), nil
}

// appendWorkerLog stores lines a worker writes into its vcs log: an
// addition to Brigade's API, whose clone ran in a container of its own
// (docs/api.md, "Writing the vcs log").
func (h *handler) appendWorkerLog(w http.ResponseWriter, r *http.Request) {
	var body struct {
		After int64           `json:"after"`
		Lines []core.LogEntry `json:"lines"`
		Close bool            `json:"close"`
	}
	if err := h.decode(r, schema.LogLines, &body); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.AppendWorkerLog(r.Context(), r.PathValue("id"), r.URL.Query().Get("container"),
		body.After, body.Lines, body.Close); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}
