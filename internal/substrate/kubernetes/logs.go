package kubernetes

import (
	"bufio"
	"context"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// logRetry is how long a follower waits before reading a broken log again.
const logRetry = time.Second

// maxLine splits lines longer than this (as on the other substrates).
const maxLine = 64 << 10

// followLog reads one container's log through the API, with timestamps,
// into its pump, until the container has ended and its log is read to
// the end. A broken stream is read again from the second of the latest
// line had, skipping as many lines as were had from that second on (see
// logCursor), so nothing is lost or repeated across a pod's end or a
// dropped connection.
func (s *Substrate) followLog(w *workload, container string, stop <-chan struct{}) {
	pump := w.pumps[container]
	cur := newLogCursor()
	var lastErr error
	for {
		ended := s.containerEnded(w, container)
		opts := &corev1.PodLogOptions{Container: container, Follow: !ended, Timestamps: true}
		if since, ok := cur.since(); ok {
			t := metav1.NewTime(since)
			opts.SinceTime = &t
		}
		// A followed stream is cut once the container has ended (stop):
		// not every server ends it then. The read after it, unfollowed,
		// gets the rest.
		ctx, cancel := context.WithCancel(s.ctx)
		if !ended {
			go func() {
				select {
				case <-stop:
					cancel()
				case <-ctx.Done():
				}
			}()
		}
		rc, err := s.cs.logs(ctx, w.ns, w.pod, opts)
		if err == nil {
			lastErr = nil
			cur.reread()
			taking, lineTime := false, time.Time{}
			// Only a read of an ended container's log keeps a last line
			// without a newline: in a followed one it may be a line still
			// being written, which the next read brings whole.
			err = readLines(rc, ended, func(piece string, cont bool) {
				if !cont {
					lineTime, piece = splitTimestamp(piece)
					taking = cur.take(lineTime)
				}
				if taking {
					pump.Emit(logpump.Entry(lineTime, piece))
				}
			})
			rc.Close()
		}
		stopped := ctx.Err() != nil
		cancel()
		if err != nil && !stopped {
			lastErr = err
		}
		if ended || s.ctx.Err() != nil || apierrors.IsNotFound(err) {
			break
		}
		if stopped {
			continue // the final, unfollowed read
		}
		select {
		case <-s.ctx.Done():
		case <-stop:
		case <-time.After(logRetry):
		}
	}
	if lastErr != nil && s.ctx.Err() == nil {
		pump.Note(notePrefix + "kubernetes substrate: cannot read the log of container " + container +
			" through the API: " + lastErr.Error())
	}
}

// containerEnded reports whether a container has ended, or its pod has
// (sidecars may still show as running then), or is gone.
func (s *Substrate) containerEnded(w *workload, container string) bool {
	pod, err := s.pods.Pods(w.ns).Get(w.pod)
	if err != nil {
		return apierrors.IsNotFound(err)
	}
	return podContainerEnded(pod, container)
}

func podContainerEnded(pod *corev1.Pod, container string) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return true
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, cs := range list {
			if cs.Name == container {
				return cs.State.Terminated != nil
			}
		}
	}
	return false
}

// splitTimestamp splits a line the API prefixed with its RFC 3339 time.
func splitTimestamp(line string) (time.Time, string) {
	stamp, msg, ok := strings.Cut(line, " ")
	if ok {
		if t, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			return t.UTC(), msg
		}
	}
	return now(), line
}

// logCursor remembers how far a log was read, so that a reading from a
// second on (the API's sinceTime has no finer grain) skips what was had.
// It counts the lines had in each second of their timestamps: the API
// returns the records stamped at or after that second in the order of the
// log file, where the lines had are a prefix, so they are the first ones
// of the new reading however their timestamps are ordered (containerd
// stamps stdout and stderr as it reads each, and a line of one can be
// written after a later-stamped line of the other).
type logCursor struct {
	perSecond map[int64]int // lines had, by the Unix second of their timestamp
	latest    time.Time     // the latest timestamp had
	skip      int           // lines of the current reading still to skip
}

func newLogCursor() *logCursor { return &logCursor{perSecond: map[int64]int{}} }

// since is where the next reading starts: the second of the latest line
// had; false before any.
func (c *logCursor) since() (time.Time, bool) {
	if c.latest.IsZero() {
		return time.Time{}, false
	}
	return c.latest.Truncate(time.Second), true
}

// reread starts a new reading from since: the lines had from that second
// on come first again, and are skipped. Counts of earlier seconds are no
// longer needed.
func (c *logCursor) reread() {
	c.skip = 0
	from, ok := c.since()
	if !ok {
		return
	}
	for sec, n := range c.perSecond {
		if sec >= from.Unix() {
			c.skip += n
		} else {
			delete(c.perSecond, sec)
		}
	}
}

// take reports whether the next line of the reading, stamped ts, is new,
// and records it.
func (c *logCursor) take(ts time.Time) bool {
	if c.skip > 0 {
		c.skip--
		return false
	}
	c.perSecond[ts.Unix()]++
	if ts.After(c.latest) {
		c.latest = ts
	}
	return true
}

// readLines calls fn with each line of r, without its newline; a last
// line without a newline counts too when unterminated is set. A line
// longer than maxLine comes in pieces of at most maxLine bytes, cut at
// UTF-8 boundaries, each after the first with cont set (it has no
// timestamp of its own). It returns nil at the end of r.
func readLines(r io.Reader, unterminated bool, fn func(piece string, cont bool)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	cont := false
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		for len(line) > maxLine {
			n := maxLine
			for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(line[n]); k++ {
				n--
			}
			fn(string(line[:n]), cont)
			cont = true
			line = append(line[:0], line[n:]...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == nil:
			piece := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
			if piece != "" || !cont { // the newline ending a cut line is no line of its own
				fn(piece, cont)
			}
			line, cont = line[:0], false
		case err == io.EOF:
			if len(line) > 0 && unterminated {
				fn(string(line), cont)
			}
			return nil
		default:
			return err
		}
	}
}
