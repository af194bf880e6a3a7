package docker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// drainTimeout bounds how long a job's logs are still read after all of
// its containers ended: reading what they wrote takes moments; this only
// guards against a daemon that stops answering.
const drainTimeout = 5 * time.Minute

// ctr is one container of a job.
type ctr struct {
	name   string // the job name for the primary, else the sidecar's name
	logs   *logpump.Pump
	from   LogPosition // what the log store already holds (after a restart)
	exited chan struct{}

	// Set under job.mu while the job starts; read-only once run begins.
	id      string // "" until created
	started bool   // it ran: its log and its end are followed

	// Set before exited is closed.
	exitCode int
	finished time.Time
	oom      bool
	gone     bool // removed before its end was seen
}

// job is a job's containers: a primary and its sidecars.
type job struct {
	s       *Substrate
	ref     core.WorkloadRef
	started time.Time
	ctrs    []*ctr // ctrs[0] is the primary
	done    chan struct{}

	mu           sync.Mutex
	failure      string // set when the job could not run as specified
	stopped      bool   // Stop came before the primary ended
	primaryEnded bool
	killAt       time.Time
	killTimer    *time.Timer
	status       core.ExitStatus // final once done is closed
}

func newJob(s *Substrate, ref core.WorkloadRef, names []string) *job {
	j := &job{s: s, ref: ref, started: time.Now().UTC(), done: make(chan struct{})}
	for _, n := range names {
		stream := core.LogStream{EventID: ref.EventID, Job: ref.Job, Container: n}
		j.ctrs = append(j.ctrs, &ctr{name: n, logs: newPump(s.opts.Sink, stream, s.log), exited: make(chan struct{})})
	}
	return j
}

func (j *job) isDone() bool {
	select {
	case <-j.done:
		return true
	default:
	}
	return false
}

func (j *job) isStopped() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stopped
}

// run follows the job to its end; ctx is the substrate's (Close ends it).
// It owns every goroutine the job has and closes done last.
func (j *job) run(ctx context.Context) {
	defer j.s.wg.Done()
	fctx, cancelFollow := context.WithCancel(ctx)
	defer cancelFollow()
	var logsWG, waitWG sync.WaitGroup
	for _, c := range j.ctrs {
		if !c.started {
			c.exitCode, c.finished = -1, time.Now().UTC()
			close(c.exited)
			continue
		}
		logsWG.Add(1)
		go func() {
			defer logsWG.Done()
			(&follower{cli: j.s.cli, id: c.id, pump: c.logs, log: j.s.log, from: c.from, exited: c.exited}).run(fctx)
		}()
		waitWG.Add(1)
		go func() {
			defer waitWG.Done()
			c.waitExit(ctx, j.s)
		}()
	}
	abandon := func() {
		cancelFollow()
		logsWG.Wait()
		waitWG.Wait()
		j.mu.Lock()
		if j.killTimer != nil {
			j.killTimer.Stop()
		}
		j.mu.Unlock()
		for _, c := range j.ctrs {
			c.logs.End(false) // the next server resumes these logs
		}
	}
	primary := j.ctrs[0]
	select {
	case <-primary.exited:
	case <-ctx.Done():
		abandon()
		return
	}
	j.mu.Lock()
	j.primaryEnded = true
	stopped := j.stopped
	j.mu.Unlock()
	if len(j.ctrs) > 1 && !j.stopSidecars(ctx, j.ctrs[1:]) {
		abandon()
		return
	}
	drained := make(chan struct{})
	go func() { logsWG.Wait(); close(drained) }()
	t := time.NewTimer(drainTimeout)
	select {
	case <-drained:
	case <-t.C:
		cancelFollow()
		<-drained
		primary.logs.Note(notePrefix + "stopped reading the logs: docker did not end them " +
			drainTimeout.String() + " after the containers ended")
	case <-ctx.Done():
		t.Stop()
		<-drained
		abandon()
		return
	}
	t.Stop()
	waitWG.Wait()
	var ends sync.WaitGroup
	for _, c := range j.ctrs {
		ends.Add(1)
		go func() { defer ends.Done(); c.logs.End(true) }()
	}
	ends.Wait()
	j.mu.Lock()
	if j.killTimer != nil {
		j.killTimer.Stop()
	}
	j.status = j.exitStatus(stopped)
	j.mu.Unlock()
	j.s.log.Debug("docker substrate: job ended", "workload", j.ref.String(), "phase", j.status.Phase, "reason", j.status.Reason)
	close(j.done)
}

// waitExit waits until the container is no longer running and records how
// it ended. It closes exited, also when ctx ends.
func (c *ctr) waitExit(ctx context.Context, s *Substrate) {
	defer close(c.exited)
	backoff := 100 * time.Millisecond
	for {
		w, err := s.cli.ContainerWait(ctx, c.id, dockerapi.WaitNotRunning)
		var r dockerapi.WaitResult
		if err == nil {
			r = <-w
			err = r.Err
		}
		if err == nil {
			c.exitCode, c.finished = int(r.StatusCode), time.Now().UTC()
			if in, ierr := s.cli.ContainerInspect(ctx, c.id); ierr == nil && in.State != nil {
				st := in.State
				c.exitCode, c.oom = st.ExitCode, st.OOMKilled
				if t, perr := time.Parse(time.RFC3339Nano, st.FinishedAt); perr == nil && t.Year() > 1 {
					c.finished = t.UTC()
				}
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		if dockerapi.IsNotFound(err) {
			c.exitCode, c.finished, c.gone = -1, time.Now().UTC(), true
			return
		}
		s.log.Warn("docker substrate: waiting for a container failed; waiting again", "container", c.id, "err", err)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (c *ctr) hasExited() bool {
	select {
	case <-c.exited:
		return true
	default:
	}
	return false
}

// stopSidecars gives sidecars SidecarGrace after the primary ended, then
// SIGTERM, then SIGKILL after another SidecarGrace. It reports false if ctx
// ended first.
func (j *job) stopSidecars(ctx context.Context, sidecars []*ctr) bool {
	all := make(chan struct{})
	go func() {
		for _, c := range sidecars {
			<-c.exited
		}
		close(all)
	}()
	grace := j.s.opts.SidecarGrace
	t := time.NewTimer(grace)
	defer t.Stop()
	for round, sig := range []string{"TERM", "KILL"} {
		select {
		case <-all:
			return true
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		for _, c := range sidecars {
			if c.hasExited() {
				continue
			}
			if round == 0 {
				c.logs.Note(fmt.Sprintf("%sstopping sidecar %s: the primary container ended %s ago", notePrefix, c.name, grace))
			}
			j.s.kill(c.id, sig)
		}
		t.Reset(grace)
	}
	select {
	case <-all:
		return true
	case <-ctx.Done():
		return false
	}
}

// stop sends SIGTERM to every container now and SIGKILL after grace. A
// second stop can only bring the SIGKILL forward.
func (j *job) stop(grace time.Duration) {
	j.mu.Lock()
	if j.isDone() {
		j.mu.Unlock()
		return
	}
	if !j.primaryEnded {
		j.stopped = true
	}
	killAt := time.Now().Add(grace)
	first := j.killTimer == nil
	switch {
	case first:
		j.killAt = killAt
		j.killTimer = time.AfterFunc(grace, func() { j.signal("KILL") })
	case killAt.Before(j.killAt):
		j.killAt = killAt
		j.killTimer.Reset(grace)
	}
	j.mu.Unlock()
	if first {
		j.ctrs[0].logs.Note(fmt.Sprintf("%sstopping: SIGTERM sent to every container, SIGKILL follows after %s", notePrefix, grace))
	}
	j.signal("TERM")
}

// signal sends sig to every container of the job that runs.
func (j *job) signal(sig string) {
	j.mu.Lock()
	var ids []string
	for _, c := range j.ctrs {
		if c.started && !c.hasExited() {
			ids = append(ids, c.id)
		}
	}
	j.mu.Unlock()
	for _, id := range ids {
		j.s.kill(id, sig)
	}
}

// kill sends a signal to a container; a container that no longer runs is
// not an error.
func (s *Substrate) kill(id, sig string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.cli.ContainerKill(ctx, id, sig); err != nil &&
		!dockerapi.IsNotFound(err) && !dockerapi.IsConflict(err) {
		s.log.Debug("docker substrate: signalling a container", "container", id, "signal", sig, "err", err)
	}
}

// exitStatus is the outcome, from the primary container only.
func (j *job) exitStatus(stopped bool) core.ExitStatus {
	p := j.ctrs[0]
	st := core.ExitStatus{Ended: p.finished, ExitCode: p.exitCode}
	if st.Ended.IsZero() {
		st.Ended = time.Now().UTC()
	}
	switch {
	case j.failure != "":
		st.Phase, st.ExitCode, st.Reason = core.PhaseFailed, -1, j.failure
	case stopped:
		st.Phase, st.Stopped, st.Reason = core.PhaseAborted, true, "stopped"
	case p.gone:
		st.Phase, st.ExitCode, st.Reason = core.PhaseFailed, -1, "the container was removed before it ended"
	case !p.started:
		st.Phase, st.ExitCode, st.Reason = core.PhaseFailed, -1, "the container never started"
	case p.oom:
		st.Phase, st.Reason = core.PhaseFailed, fmt.Sprintf("exit code %d: killed for using more memory than resources.limits.memory", p.exitCode)
	case p.exitCode == 0:
		st.Phase, st.Reason = core.PhaseSucceeded, "exit code 0"
	default:
		st.Phase, st.Reason = core.PhaseFailed, describeExit(p.exitCode)
	}
	return st
}

func describeExit(code int) string {
	switch {
	case code == 126:
		return "exit code 126 (the command could not be executed; see the log)"
	case code == 127:
		return "exit code 127 (command not found; see the log)"
	case code > 128 && code < 160:
		return fmt.Sprintf("exit code %d (killed by signal %d)", code, code-128)
	}
	return fmt.Sprintf("exit code %d", code)
}
