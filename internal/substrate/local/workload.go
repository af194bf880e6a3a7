package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/standby"
)

// drainTimeout bounds how long a workload's logs are read after all of its
// process groups are gone: only processes that left their group (setsid)
// can still hold the pipe open then.
const drainTimeout = 5 * time.Second

// workload is a worker or a job: one primary process plus sidecars.
type workload struct {
	s       *Substrate
	ref     core.WorkloadRef
	started time.Time
	procs   []*proc // procs[0] is the primary
	failure string  // set when the workload could not run at all
	release func()  // gives back mount points; may be nil
	done    chan struct{}

	confineSeq uint64 // the workload's number in the confiner; 0 when it runs nothing

	mu           sync.Mutex
	stopped      bool // Stop came before the primary ended
	primaryEnded bool
	killAt       time.Time
	killTimer    *time.Timer
	status       core.ExitStatus // final once done is closed
}

// proc is one process group with its log stream.
type proc struct {
	container string
	logs      *logPump
	cmd       *exec.Cmd // nil when the process never started
	pid       int
	pidFile   string // where the group is recorded ("" for none)
	pidStart  uint64 // the leader's start time, once recorded
	recorded  bool   // the group is in pidFile
	exited    chan struct{}
	sb        *standbyProc       // the standby it runs on, if any
	run       *standby.RunOutput // its run's output on that standby

	mu     sync.Mutex
	reaped bool
	state  *os.ProcessState
	err    error
	code   *int // the exit code a standby reported at its run's end
}

func newProc(container string, logs *logPump) *proc {
	return &proc{container: container, logs: logs, exited: make(chan struct{})}
}

// signal sends sig to the process group while its leader is not reaped (so
// the group id cannot belong to anyone else).
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.reaped {
		_ = syscall.Kill(-p.pid, sig)
	}
}

func (p *proc) reap() {
	if p.sb != nil {
		p.reapStandby()
		return
	}
	if p.cmd == nil {
		p.mu.Lock()
		p.reaped = true
		p.mu.Unlock()
		close(p.exited)
		return
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.reaped, p.state, p.err = true, p.cmd.ProcessState, err
	// A container's processes die with its first one: kill whatever the
	// leader left behind in its group.
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	p.mu.Unlock()
	close(p.exited)
}

func (p *proc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
	}
	return false
}

func (w *workload) isDone() bool {
	select {
	case <-w.done:
		return true
	default:
	}
	return false
}

// run follows the workload to its end; it owns every goroutine the
// workload has and closes done last.
func (w *workload) run() {
	for _, p := range w.procs {
		go p.reap()
	}
	primary := w.procs[0]
	<-primary.exited
	ended := time.Now().UTC()
	w.mu.Lock()
	w.primaryEnded = true
	stopped := w.stopped
	w.mu.Unlock()

	if len(w.procs) > 1 {
		w.stopSidecars(w.procs[1:])
	}
	// Every process group has ended: what the job started elsewhere goes
	// now, and with it any hold on the log pipes (see Confinement in the
	// package documentation).
	w.endConfinement()
	// The pid file's end marks go beside the logs' last lines, not before
	// them: both must be done before Wait returns, neither needs the other.
	var wg sync.WaitGroup
	for _, p := range w.procs {
		if p.recorded {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = recordGroupEnd(p.pidFile, p.pid, p.pidStart)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.logs.drain(drainTimeout)
			p.logs.End(true)
		}()
	}
	wg.Wait()
	for _, p := range w.procs {
		p.returnStandby(w.s, stopped)
	}

	w.mu.Lock()
	if w.killTimer != nil {
		w.killTimer.Stop()
	}
	w.status = w.exitStatus(ended, stopped)
	w.mu.Unlock()
	if w.release != nil {
		w.release()
	}
	w.s.log.Debug("local substrate: workload ended", "workload", w.ref.String(),
		"phase", w.status.Phase, "reason", w.status.Reason)
	close(w.done)
}

func (w *workload) endConfinement() {
	if w.confineSeq != 0 {
		w.s.confine.end(w.confineSeq)
	}
}

// stopSidecars gives sidecars SidecarGrace after the primary ended, then
// SIGTERM, then SIGKILL after another SidecarGrace.
func (w *workload) stopSidecars(sidecars []*proc) {
	all := make(chan struct{})
	go func() {
		for _, p := range sidecars {
			<-p.exited
		}
		close(all)
	}()
	grace := w.s.opts.SidecarGrace
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-all:
		return
	case <-t.C:
	}
	for _, p := range sidecars {
		if !p.hasExited() {
			p.logs.Note(fmt.Sprintf("%sstopping sidecar %s: the primary container ended %s ago",
				notePrefix, p.container, grace))
			p.signal(syscall.SIGTERM)
		}
	}
	t.Reset(grace)
	select {
	case <-all:
		return
	case <-t.C:
	}
	for _, p := range sidecars {
		p.signal(syscall.SIGKILL)
	}
	<-all
}

// stop sends SIGTERM to every process group now and SIGKILL after grace.
// A second stop can only bring the SIGKILL forward.
func (w *workload) stop(grace time.Duration) {
	w.mu.Lock()
	if w.isDone() {
		w.mu.Unlock()
		return
	}
	if !w.primaryEnded {
		w.stopped = true
	}
	killAt := time.Now().Add(grace)
	first := w.killTimer == nil
	switch {
	case first:
		w.killAt = killAt
		w.killTimer = time.AfterFunc(grace, func() { w.signal(syscall.SIGKILL) })
	case killAt.Before(w.killAt):
		w.killAt = killAt
		w.killTimer.Reset(grace)
	}
	w.mu.Unlock()
	if first {
		w.procs[0].logs.Note(fmt.Sprintf("%sstopping: SIGTERM sent to every process, SIGKILL follows after %s", notePrefix, grace))
	}
	w.signal(syscall.SIGTERM)
}

func (w *workload) signal(sig syscall.Signal) {
	for _, p := range w.procs {
		p.signal(sig)
	}
}

// exitStatus is the outcome, from the primary process only.
func (w *workload) exitStatus(ended time.Time, stopped bool) core.ExitStatus {
	st := core.ExitStatus{Ended: ended}
	p := w.procs[0]
	if w.failure != "" {
		st.Phase, st.ExitCode, st.Reason = core.PhaseFailed, -1, w.failure
		return st
	}
	code, reason := p.outcome()
	st.ExitCode = code
	switch {
	case stopped:
		st.Phase, st.Stopped, st.Reason = core.PhaseAborted, true, "stopped"
	case code == 0:
		st.Phase, st.Reason = core.PhaseSucceeded, reason
	default:
		st.Phase, st.Reason = core.PhaseFailed, reason
	}
	return st
}

// describeExit turns a wait result into an exit code (128+n for a death by
// signal n, as shells report it) and a reason.
func describeExit(state *os.ProcessState, err error) (int, string) {
	if state == nil {
		return -1, fmt.Sprintf("waiting for the process failed: %v", err)
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return 128 + int(ws.Signal()), fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	code := state.ExitCode()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return code, fmt.Sprintf("exit code %d (%v)", code, err)
	}
	switch code {
	case 126:
		return code, "exit code 126 (the command could not be executed; see the log)"
	case 127:
		return code, "exit code 127 (command not found; see the log)"
	}
	return code, fmt.Sprintf("exit code %d", code)
}
