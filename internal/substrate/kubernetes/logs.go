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
// the end. A broken stream is read again from the last line's second,
// skipping the lines already had (by their exact timestamps), so nothing
// is lost or repeated across a pod's end or a dropped connection.
func (s *Substrate) followLog(w *workload, container string, stop <-chan struct{}) {
	pump := w.pumps[container]
	var cur logCursor
	var lastErr error
	for {
		ended := s.containerEnded(w, container)
		opts := &corev1.PodLogOptions{Container: container, Follow: !ended, Timestamps: true}
		if !cur.last.IsZero() {
			since := metav1.NewTime(cur.last)
			opts.SinceTime = &since
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
			var lineTime time.Time
			err = readLines(rc, func(piece string, cont bool) {
				ts, msg := lineTime, piece
				if !cont {
					ts, msg = splitTimestamp(piece)
					lineTime = ts
				}
				if cur.take(ts) {
					pump.Emit(logpump.Entry(ts, msg))
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

// logCursor remembers how far a log was read: the last line's timestamp
// and how many lines carried exactly it. A log read again from that
// timestamp's second skips what came before it and the lines already had
// at it.
type logCursor struct {
	last   time.Time
	atLast int // lines taken with timestamp last
	seen   int // lines with timestamp last met in the current reading
}

// reread starts a new reading of the log.
func (c *logCursor) reread() { c.seen = 0 }

// take reports whether a line stamped ts is new, and records it.
func (c *logCursor) take(ts time.Time) bool {
	switch {
	case ts.Before(c.last):
		return false
	case ts.Equal(c.last):
		c.seen++
		if c.seen <= c.atLast {
			return false
		}
		c.atLast++
		return true
	default:
		c.last, c.atLast, c.seen = ts, 1, 1
		return true
	}
}

// readLines calls fn with each line of r, without its newline; a last
// line without a newline counts too. A line longer than maxLine comes in
// pieces of at most maxLine bytes, cut at UTF-8 boundaries, each after the
// first with cont set (it has no timestamp of its own): nothing is
// dropped. It returns nil at the end of r.
func readLines(r io.Reader, fn func(piece string, cont bool)) error {
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
			if len(line) > 0 {
				fn(string(line), cont)
			}
			return nil
		default:
			return err
		}
	}
}
