package kubernetes

import (
	"bufio"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// logRetry is how long a follower waits before reading a broken log again.
const logRetry = time.Second

// maxLine cuts lines longer than this (as on the other substrates).
const maxLine = 64 << 10

// followLog reads one container's log through the API, with timestamps,
// into its pump, until the container has ended and its log is read to
// the end. A broken stream is read again from the last line's second,
// skipping the lines already had (by their exact timestamps), so nothing
// is lost or repeated across a pod's end or a dropped connection.
func (s *Substrate) followLog(w *workload, container string) {
	pump := w.pumps[container]
	var last time.Time // timestamp of the last line emitted
	var atLast int     // lines emitted with exactly that timestamp
	var lastErr error
	for {
		ended := s.containerEnded(w, container)
		opts := &corev1.PodLogOptions{Container: container, Follow: !ended, Timestamps: true}
		if !last.IsZero() {
			since := metav1.NewTime(last)
			opts.SinceTime = &since
		}
		rc, err := s.cs.CoreV1().Pods(w.ns).GetLogs(w.pod, opts).Stream(s.ctx)
		if err == nil {
			lastErr = nil
			sc := bufio.NewScanner(rc)
			sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
			seen := 0
			for sc.Scan() {
				ts, msg := splitTimestamp(sc.Text())
				switch {
				case ts.Before(last):
					continue
				case ts.Equal(last):
					if seen < atLast {
						seen++
						continue
					}
					atLast++
					seen++
				default:
					last, atLast, seen = ts, 1, 1
				}
				if len(msg) > maxLine {
					msg = msg[:maxLine]
				}
				pump.Emit(logpump.Entry(ts, msg))
			}
			err = sc.Err()
			rc.Close()
		}
		if err != nil {
			lastErr = err
		}
		if ended || s.ctx.Err() != nil || apierrors.IsNotFound(err) {
			break
		}
		select {
		case <-s.ctx.Done():
		case <-time.After(logRetry):
		}
	}
	if lastErr != nil && s.ctx.Err() == nil {
		pump.Note(notePrefix + "kubernetes substrate: cannot read the log of container " + container +
			" through the API: " + lastErr.Error())
	}
}

// containerEnded reports whether a container has ended or its pod is gone.
func (s *Substrate) containerEnded(w *workload, container string) bool {
	pod, err := s.pods.Pods(w.ns).Get(w.pod)
	if err != nil {
		return apierrors.IsNotFound(err)
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, cs := range list {
			if cs.Name == container {
				return cs.State.Terminated != nil
			}
		}
	}
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
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
