package kubernetes

import (
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// workload is one worker or job pod the substrate follows: one goroutine
// (run) waits on the informer's news of the pod, follows each container's
// log once it has started, and records the outcome once the pod has ended
// and every log is stored.
type workload struct {
	ref        core.WorkloadRef
	ns, pod    string
	containers []string // the primary's name first, then the sidecars'
	pumps      map[string]*logpump.Pump

	changed chan struct{} // a value after each change of the pod
	running chan struct{} // closed once the pod has left Pending, or ended
	done    chan struct{} // closed once status is final

	mu      sync.Mutex
	stopped bool
	status  core.ExitStatus
	// sidecarsEnding: the primary has ended, its sidecars are being ended
	// (endSidecars). Under mu.
	sidecarsEnding bool

	// primaryEnd is how the primary container ended, from the first pod
	// that showed it: reported when the pod is gone after it, its sidecars
	// ended (run's goroutine only).
	primaryEnd *core.ExitStatus
}

func newWorkload(s *Substrate, ref core.WorkloadRef, ns, pod string, containers []string) *workload {
	w := &workload{
		ref: ref, ns: ns, pod: pod, containers: containers,
		pumps:   map[string]*logpump.Pump{},
		changed: make(chan struct{}, 1),
		running: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, c := range containers {
		stream := core.LogStream{EventID: ref.EventID, Job: ref.Job, Container: c}
		w.pumps[c] = logpump.New(s.opts.Sink, stream, s.log, ref.String())
		w.pumps[c].Start()
	}
	return w
}

func (w *workload) wake() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *workload) markRunning() {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.running:
	default:
		close(w.running)
	}
}

func (w *workload) primary() *logpump.Pump { return w.pumps[w.containers[0]] }

// finish records the outcome once every log is in the sink.
func (w *workload) finish(st core.ExitStatus) {
	for _, c := range w.containers {
		w.pumps[c].End(true)
	}
	w.mu.Lock()
	w.status = st
	w.mu.Unlock()
	w.markRunning()
	close(w.done)
}

// discard drops a workload that never started (or lost a race to be
// registered), leaving its log streams open: they may belong to another.
func (w *workload) discard() {
	for _, c := range w.containers {
		w.pumps[c].End(false)
	}
	w.markRunning()
	close(w.done)
}

// failNow ends a workload that cannot run as specified: the reason goes to
// its log and Wait returns FAILED with exit code -1.
func (w *workload) failNow(reason string) {
	w.primary().Note(notePrefix + reason)
	w.finish(core.ExitStatus{Phase: core.PhaseFailed, ExitCode: -1, Ended: now(), Reason: reason})
}

// run follows the pod until it has ended (or is gone) and its logs are in.
func (s *Substrate) run(w *workload) {
	defer s.wg.Done()
	var followers sync.WaitGroup
	following := map[string]chan struct{}{} // closed once the container has ended
	endFollow := func(all bool, pod *corev1.Pod) {
		for c, stop := range following {
			select {
			case <-stop:
			default:
				if all || podContainerEnded(pod, c) {
					close(stop)
				}
			}
		}
	}
	seen := false // whether the watch has shown the pod yet
	for {
		pod, err := s.pods.Pods(w.ns).Get(w.pod)
		gone := apierrors.IsNotFound(err)
		if err != nil && !gone {
			s.log.Warn("kubernetes substrate: reading a pod from the watch", "pod", w.pod, "err", err)
		}
		if gone && !seen {
			// Just created, and the watch has not brought it yet; or gone
			// before it came. Only the API can tell.
			live := &corev1.Pod{}
			err := s.cs.get(s.ctx, w.ns, resPods, w.pod, live)
			switch {
			case err == nil:
				pod, gone = live, false
			case !apierrors.IsNotFound(err):
				gone = false // cannot tell: wait for the watch
			}
		}
		seen = seen || pod != nil
		if pod != nil && pod.Status.Phase != corev1.PodPending {
			w.markRunning()
		}
		if pod != nil {
			for _, c := range w.containers {
				if following[c] == nil && containerStarted(pod, c) {
					stop := make(chan struct{})
					following[c] = stop
					followers.Add(1)
					go func() {
						defer followers.Done()
						s.followLog(w, c, stop)
					}()
				}
			}
			endFollow(false, pod)
			s.endSidecars(w, pod)
		}
		if st, ended := outcome(pod, gone, w); ended {
			endFollow(true, pod)
			followers.Wait()
			w.finish(st)
			return
		}
		select {
		case <-w.changed:
		case <-s.ctx.Done():
			// Closed: stop following, leave the streams open for the
			// next server, which re-attaches.
			followers.Wait()
			for _, c := range w.containers {
				w.pumps[c].End(false)
			}
			return
		}
	}
}

// containerStarted reports whether a container has run (so its log can
// be read).
func containerStarted(pod *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, cs := range list {
			if cs.Name == name {
				return cs.State.Running != nil || cs.State.Terminated != nil
			}
		}
	}
	return false
}

// outcome says whether the workload has ended, and how: from the primary
// container's end when the pod has ended, or is gone after it (its
// sidecars ended); ABORTED when Stop removed it.
func outcome(pod *corev1.Pod, gone bool, w *workload) (core.ExitStatus, bool) {
	w.mu.Lock()
	stopped := w.stopped
	w.mu.Unlock()
	if !gone && pod != nil && w.primaryEnd == nil {
		if t := primaryTerminated(pod, w.containers[0]); t != nil {
			end := primaryOutcome(t)
			w.primaryEnd = &end
		}
	}
	st := core.ExitStatus{Ended: now(), ExitCode: -1}
	if gone || pod == nil || pod.DeletionTimestamp != nil {
		if !gone && pod != nil && pod.DeletionTimestamp != nil && !stopped {
			return st, false // being deleted (its sidecars ending, or by someone else): wait until it is gone
		}
		if stopped {
			st.Phase, st.Stopped, st.Reason = core.PhaseAborted, true, "stopped"
			if t := primaryTerminated(pod, w.containers[0]); t != nil {
				st.ExitCode = int(t.ExitCode)
			}
			return st, gone || pod == nil
		}
		if w.primaryEnd != nil {
			return *w.primaryEnd, true
		}
		st.Phase, st.Reason = core.PhaseFailed, "the pod was deleted before it ended"
		return st, true
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
	default:
		return st, false
	}
	t := primaryTerminated(pod, w.containers[0])
	if t == nil {
		st.Phase = core.PhaseFailed
		st.Reason = fmt.Sprintf("the pod ended %s without its container %s ending (%s)",
			pod.Status.Phase, w.containers[0], pod.Status.Message)
		return st, true
	}
	return primaryOutcome(t), true
}

// primaryOutcome is a workload's status from how its primary container
// ended.
func primaryOutcome(t *corev1.ContainerStateTerminated) core.ExitStatus {
	st := core.ExitStatus{Ended: now(), ExitCode: -1}
	switch {
	case t.ExitCode == 0:
		st.Phase, st.ExitCode, st.Reason = core.PhaseSucceeded, 0, "exit code 0"
	default:
		st.Phase, st.ExitCode = core.PhaseFailed, int(t.ExitCode)
		st.Reason = fmt.Sprintf("exit code %d", t.ExitCode)
		if t.Reason != "" && t.Reason != "Error" {
			st.Reason += " (" + t.Reason + ")"
		}
		if m := strings.TrimSpace(t.Message); m != "" {
			// e.g. why the runtime could not start the command at all
			st.Reason += ": " + m
		}
	}
	if !t.FinishedAt.IsZero() {
		st.Ended = t.FinishedAt.UTC()
	}
	return st
}

// endSidecars ends a job pod whose primary container has ended while its
// sidecars run on: after SidecarGrace it deletes the pod with that grace
// (SIGTERM, then SIGKILL), as the docker substrate stops sidecars. The
// primary's outcome is kept (outcome) and reported once the pod is gone
// and every log is in. A failed delete is tried again at the next change.
func (s *Substrate) endSidecars(w *workload, pod *corev1.Pod) {
	if len(w.containers) < 2 || pod.DeletionTimestamp != nil ||
		pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed ||
		primaryTerminated(pod, w.containers[0]) == nil {
		return
	}
	w.mu.Lock()
	ending := w.sidecarsEnding
	w.sidecarsEnding = true
	w.mu.Unlock()
	if ending {
		return
	}
	grace := s.opts.SidecarGrace
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-time.After(grace):
		case <-w.done:
			return
		case <-s.ctx.Done():
			return
		}
		if err := s.deletePod(s.ctx, w, grace); err != nil && s.ctx.Err() == nil {
			s.log.Warn("kubernetes substrate: ending the sidecars of a job whose primary ended; trying again",
				"pod", w.pod, "err", err)
			w.mu.Lock()
			w.sidecarsEnding = false
			w.mu.Unlock()
			w.wake()
		}
	}()
}

func primaryTerminated(pod *corev1.Pod, name string) *corev1.ContainerStateTerminated {
	if pod == nil {
		return nil
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == name {
			return cs.State.Terminated
		}
	}
	return nil
}
