package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// Docker's multiplexed stream types.
const (
	streamStdout = dockerapi.Stdout
	streamStderr = dockerapi.Stderr
	streamSystem = dockerapi.System
)

// newPump makes a started pump for one container's log stream.
func newPump(sink core.LogSink, stream core.LogStream, log *slog.Logger) *logpump.Pump {
	p := logpump.New(sink, stream, log, "docker substrate")
	p.Start()
	return p
}

// line is one log line of a container, stamped by docker.
type line struct {
	t   time.Time
	msg string
}

// assembler turns docker's log messages into lines. Docker splits lines
// longer than 16 KiB into partial messages (same timestamp, no newline but
// the last); the assembler joins them per stream, stamps the line with its
// first message's time, and cuts lines longer than logpump.MaxLineBytes at a UTF-8
// boundary, as the local substrate does. Its output depends only on the
// sequence of messages, so re-reading a log from its start yields the same
// lines: that is what resuming counts on.
type assembler struct {
	parts [4]struct {
		b    []byte
		t    time.Time
		open bool
	}
}

func (a *assembler) feed(stream byte, t time.Time, payload []byte, emit func(line)) {
	if int(stream) >= len(a.parts) {
		stream = streamStdout
	}
	p := &a.parts[stream]
	if !p.open {
		p.t, p.open = t, true
	}
	complete := len(payload) > 0 && payload[len(payload)-1] == '\n'
	if complete {
		payload = payload[:len(payload)-1]
	}
	p.b = append(p.b, payload...)
	for len(p.b) > logpump.MaxLineBytes {
		n := logpump.MaxLineBytes
		for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(p.b[n]); k++ {
			n--
		}
		emit(line{t: p.t, msg: string(p.b[:n])})
		p.b = append(p.b[:0], p.b[n:]...)
	}
	if complete {
		emit(line{t: p.t, msg: string(bytes.TrimSuffix(p.b, []byte{'\r'}))})
		p.b, p.open = p.b[:0], false
	}
}

// flush emits what is left without a newline (the end of the log).
func (a *assembler) flush(emit func(line)) {
	for i := range a.parts {
		if p := &a.parts[i]; p.open {
			if len(p.b) > 0 {
				emit(line{t: p.t, msg: string(bytes.TrimSuffix(p.b, []byte{'\r'}))})
			}
			p.b, p.open = p.b[:0], false
		}
	}
}

// readFrames reads docker's multiplexed log stream (logs asked for with
// timestamps): each message starts with its RFC 3339 time and a space. It
// returns nil at a clean end of the stream.
func readFrames(r io.Reader, fn func(stream byte, t time.Time, payload []byte)) error {
	fr := dockerapi.NewFrameReader(r)
	for {
		stream, buf, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		t := time.Now()
		payload := buf
		if i := bytes.IndexByte(buf, ' '); i > 0 {
			if ts, err := time.Parse(time.RFC3339Nano, string(buf[:i])); err == nil {
				t, payload = ts, buf[i+1:]
			}
		}
		fn(stream, t, payload)
	}
}

// LogPosition is how far a container's log got into the log store: how
// many of the container's own lines are stored (the substrate's notes, the
// lines that start with "[brigade] ", do not count) and the time of the
// last of them.
type LogPosition struct {
	Lines int64
	Last  time.Time
}

// follower reads one container's log into its pump until the container
// ends. It follows the log; once docker ends the followed stream (the
// container stopped) and the container's exit is recorded, it reads the
// log's tail once more without following, because docker can end a
// followed stream before the container's last message (a line without a
// newline) is in it. A broken connection is read again the same way.
//
// Reading again never repeats or loses a message: a read with since=T
// returns, in log order, exactly the log's messages stamped T or later, so
// the messages of an earlier read stamped T or later are its first ones
// (they are a prefix of the log); the follower skips that many. It keeps
// the times of the messages of the last resumeWindow for that count.
type follower struct {
	cli    *dockerapi.Client
	id     string
	pump   *logpump.Pump
	log    *slog.Logger
	from   LogPosition     // lines already stored, skipped (after a restart)
	exited <-chan struct{} // closed once the container's exit is recorded
}

// resumeWindow is how far before the last message read a later read
// starts; it only needs to exceed the skew between docker's stdout and
// stderr copiers (microseconds).
const resumeWindow = time.Second

// followGrace is how long after a container's exit docker may take to end
// its followed log by itself.
const followGrace = 2 * time.Second

// run returns at the end of the log, when the container is gone, or when
// ctx ends.
func (f *follower) run(ctx context.Context) {
	var (
		asm     assembler
		pos     int64 // lines assembled so far
		checked = f.from.Lines == 0
		recent  []time.Time // times of the messages read, from about resumeWindow before the latest
		latest  time.Time
		final   bool // the container ended: read to the end without following
		backoff = 100 * time.Millisecond
	)
	emit := func(l line) {
		pos++
		if pos < f.from.Lines {
			return
		}
		if pos == f.from.Lines {
			if !checked && !l.t.Equal(f.from.Last) {
				f.log.Warn("docker substrate: the container's log does not match the stored one where it resumes "+
					"(was it rotated?); some lines may repeat or be missing", "container", f.id,
					"stream", f.pump.Stream(), "stored", f.from.Last, "docker", l.t)
			}
			checked = true
			return
		}
		f.pump.Emit(logpump.Entry(l.t, l.msg))
	}
	for {
		opts := dockerapi.LogsOptions{Stdout: true, Stderr: true, Follow: !final, Timestamps: true}
		var skip int // messages of this read that earlier reads consumed
		if !latest.IsZero() {
			since := latest.Add(-resumeWindow)
			opts.Since = since
			for _, t := range recent {
				if !t.Before(since) {
					skip++
				}
			}
		}
		rctx, cancelRead := context.WithCancel(ctx)
		if !final {
			// Docker ends a followed log when its container stops; should it
			// not, the read that follows the exit picks up from here.
			go func() {
				select {
				case <-f.exited:
					if sleepCtx(rctx, followGrace) {
						cancelRead()
					}
				case <-rctx.Done():
				}
			}()
		}
		rc, err := f.cli.ContainerLogs(rctx, f.id, opts)
		if err == nil {
			err = readFrames(rc, func(stream byte, t time.Time, payload []byte) {
				if skip > 0 {
					skip--
					return
				}
				if t.After(latest) {
					latest = t
				}
				recent = append(recent, t)
				if len(recent) > 1024 && recent[0].Before(latest.Add(-2*resumeWindow)) {
					cut := 0
					for cut < len(recent) && recent[cut].Before(latest.Add(-2*resumeWindow)) {
						cut++
					}
					recent = append(recent[:0], recent[cut:]...)
				}
				if stream == streamSystem {
					f.pump.Note(notePrefix + "docker: " + string(bytes.TrimSpace(payload)))
					return
				}
				asm.feed(stream, t, payload, emit)
			})
			_ = rc.Close()
		}
		cut := rctx.Err() != nil
		cancelRead()
		switch {
		case ctx.Err() != nil:
			return
		case cut && !final:
			final = true // the container ended and docker did not end the followed log
			continue
		case err == nil && final:
			asm.flush(emit)
			if !checked {
				f.log.Warn("docker substrate: the container's log is shorter than the stored one (was it rotated?); "+
					"lines it wrote since are missing", "container", f.id, "stream", f.pump.Stream())
			}
			return
		case err == nil:
			select {
			case <-f.exited:
			case <-ctx.Done():
				return
			}
			final = true
			continue
		case dockerapi.IsNotFound(err):
			asm.flush(emit)
			f.pump.Note(notePrefix + "the container was removed before its log was read to the end")
			return
		case unreadableLog(err):
			asm.flush(emit)
			f.pump.Note(notePrefix + "cannot read this container's log: " + err.Error() +
				" (the daemon's log driver must be readable: json-file, local or journald)")
			return
		}
		f.log.Warn("docker substrate: reading a container's log failed; reading it again", "container", f.id,
			"stream", f.pump.Stream(), "err", err)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// unreadableLog tells the daemon's refusal to read a log that reading
// again cannot cure: a log driver that cannot be read (400, 501) or a
// container in a state whose log cannot be read (412).
func unreadableLog(err error) bool {
	switch dockerapi.StatusCode(err) {
	case http.StatusBadRequest, http.StatusNotImplemented, http.StatusPreconditionFailed:
		return true
	}
	return false
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func fmtStream(s core.LogStream) string {
	if s.Job == "" {
		return fmt.Sprintf("the log of the worker of event %s", s.EventID)
	}
	return fmt.Sprintf("the log of container %s of job %s of event %s", s.Container, s.Job, s.EventID)
}
