package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/standby"
)

// standbyArg makes this test binary a stand-in worker command that speaks
// the standby protocol (see TestMain): it reports where it runs and what
// its environment holds, and exits with $EXIT_CODE, whether it was started
// as a standby or for the event.
const standbyArg = "standby-test-worker"

func runTestWorker() {
	if len(os.Args) < 2 || os.Args[1] != standbyArg {
		return
	}
	if !standby.Is() { // started for the event
		os.Exit(reportLaunch())
	}
	rc, err := standby.Listen()
	for err == nil {
		var l *standby.Launch
		if l, err = rc.Next(); err == nil {
			err = l.Apply()
		}
		if errors.Is(err, standby.ErrNoLaunch) {
			os.Exit(0)
		}
		if err != nil {
			break
		}
		code := reportLaunch()
		if l.End == "" {
			os.Exit(code)
		}
		fmt.Printf("%s %d\n", l.End, code)
	}
	fmt.Println("error:", err)
	os.Exit(1)
}

// reportLaunch prints what the test worker's run sees and returns the
// exit code it should end with.
func reportLaunch() int {
	if f := os.Getenv("ESCAPE_PIDFILE"); f != "" {
		// A child that leaves the worker's process group and session.
		script := fmt.Sprintf(`setsid sh -c 'sleep 1000 & echo $! > %[1]s.tmp; mv %[1]s.tmp %[1]s; wait' &
while [ ! -s %[1]s ]; do sleep 0.01; done`, f)
		if err := exec.Command("sh", "-c", script).Run(); err != nil {
			fmt.Println("escape:", err)
			return 1
		}
	}
	wd, _ := os.Getwd()
	fmt.Println("dir=" + wd)
	fmt.Println("event=" + os.Getenv("BRIGADE_EVENT_FILE"))
	fmt.Println("extra=" + os.Getenv("EXTRA"))
	fmt.Print("standby=" + os.Getenv(standby.Env)) // no newline: the end line follows at once
	if os.Getenv("SLEEP") != "" {
		time.Sleep(time.Hour) // until SIGTERM kills it
	}
	code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
	return code
}

func standbyCommand(t *testing.T) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, standbyArg}
}

// idleStandby waits until the pool has a standby ready and returns its pid.
func idleStandby(t *testing.T, s *Substrate) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s.standbys.mu.Lock()
		var pid int
		if len(s.standbys.idle) > 0 {
			pid = s.standbys.idle[0].cmd.Process.Pid
		}
		s.standbys.mu.Unlock()
		if pid != 0 {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatal("no standby became ready within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// idleStandbyProc is the standby idleStandby waited for.
func idleStandbyProc(s *Substrate) *standbyProc {
	s.standbys.mu.Lock()
	defer s.standbys.mu.Unlock()
	return s.standbys.idle[0]
}

func newStandbyFixture(t *testing.T) *fixture {
	f := newFixture(t, Options{StandbyCommand: standbyCommand(t), StandbyWorkers: 1})
	t.Cleanup(func() { f.s.Close() })
	return f
}

func (f *fixture) startWorker(cmd []string, env map[string]string) (core.ExitStatus, []string) {
	return f.startWorkerOf(f.ev, cmd, env)
}

func (f *fixture) startWorkerOf(ev string, cmd []string, env map[string]string) (core.ExitStatus, []string) {
	f.t.Helper()
	w := &core.WorkerLaunch{Event: &core.Event{Metadata: core.ObjectMeta{ID: ev}}, EventDocument: []byte(`{}`),
		Command: cmd, Env: env}
	if _, err := f.s.StartWorker(f.ctx, w); err != nil {
		f.t.Fatal(err)
	}
	st, err := f.s.Wait(f.ctx, core.WorkloadRef{EventID: ev})
	if err != nil {
		f.t.Fatal(err)
	}
	return st, f.sink.Lines(core.LogStream{EventID: ev, Container: "worker"})
}

func (f *fixture) workerPid() int { return f.workerPidOf(f.ev) }

func (f *fixture) workerPidOf(ev string) int {
	w := f.s.get(core.WorkloadRef{EventID: ev})
	w.procs[0].mu.Lock()
	defer w.procs[0].mu.Unlock()
	return w.procs[0].pid
}

func TestWorkerStartsFromAStandby(t *testing.T) {
	f := newStandbyFixture(t)
	pid := idleStandby(t, f.s)
	st, lines := f.startWorker(standbyCommand(t), map[string]string{"EXTRA": "from-the-launch", "EXIT_CODE": "3"})
	if got := f.workerPid(); got != pid {
		t.Errorf("the worker ran as process %d, not as the standby %d", got, pid)
	}
	p := f.s.paths(f.ev)
	want := []string{"dir=" + p.dir, "event=" + p.eventFile, "extra=from-the-launch", "standby="}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("worker log = %q; want %q", lines, want)
	}
	if st.Phase != core.PhaseFailed || st.ExitCode != 3 {
		t.Errorf("status = %+v; want FAILED with the standby's exit code 3", st)
	}
	// The run ended with its end line: the same process takes the next
	// event, with nothing of the first one's environment.
	if next := idleStandby(t, f.s); next != pid {
		t.Fatalf("the idle standby is %d, not the one that ran the event, %d", next, pid)
	}
	const ev2 = "ev-local-2"
	t.Cleanup(func() { f.s.Cleanup(context.Background(), ev2) })
	st, lines = f.startWorkerOf(ev2, standbyCommand(t), nil)
	if got := f.workerPidOf(ev2); got != pid {
		t.Errorf("the second event ran as process %d, not on the standby %d", got, pid)
	}
	p2 := f.s.paths(ev2)
	want = []string{"dir=" + p2.dir, "event=" + p2.eventFile, "extra=", "standby="}
	if st.Phase != core.PhaseSucceeded || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("second worker = %+v %q; want SUCCEEDED and %q", st, lines, want)
	}
}

func TestStoppedStandbyIsNotReused(t *testing.T) {
	f := newStandbyFixture(t)
	pid := idleStandby(t, f.s)
	sb := idleStandbyProc(f.s)
	w := &core.WorkerLaunch{Event: &core.Event{Metadata: core.ObjectMeta{ID: f.ev}}, EventDocument: []byte(`{}`),
		Command: standbyCommand(t), Env: map[string]string{"SLEEP": "1"}}
	if _, err := f.s.StartWorker(f.ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Stop(f.ctx, core.WorkloadRef{EventID: f.ev}, time.Minute); err != nil {
		t.Fatal(err)
	}
	st, err := f.s.Wait(f.ctx, core.WorkloadRef{EventID: f.ev})
	if err != nil || st.Phase != core.PhaseAborted {
		t.Fatalf("stopped worker = %+v, %v; want ABORTED", st, err)
	}
	<-sb.dead // let go, not kept
	f.s.standbys.mu.Lock()
	defer f.s.standbys.mu.Unlock()
	for _, sb := range f.s.standbys.idle {
		if sb.cmd.Process.Pid == pid {
			t.Errorf("the stopped standby %d is idle again", pid)
		}
	}
}

func TestOtherCommandsDoNotUseStandbys(t *testing.T) {
	f := newStandbyFixture(t)
	pid := idleStandby(t, f.s)
	st, lines := f.startWorker([]string{"sh", "-c", "echo plain"}, nil)
	if st.Phase != core.PhaseSucceeded || strings.Join(lines, "|") != "plain" {
		t.Errorf("worker = %+v %q", st, lines)
	}
	if got := idleStandby(t, f.s); got != pid {
		t.Errorf("the standby changed from %d to %d for a command it does not run", pid, got)
	}
}

func TestDeadStandbyFallsBackToAFreshProcess(t *testing.T) {
	f := newStandbyFixture(t)
	pid := idleStandby(t, f.s)
	sb := idleStandbyProc(f.s)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Reaped, so every thread is gone (a zombie leader may still have
	// threads that hold its files open).
	<-sb.dead
	st, lines := f.startWorker(standbyCommand(t), map[string]string{"EXTRA": "x"})
	if got := f.workerPid(); got == pid {
		t.Errorf("the dead standby %d was used", pid)
	}
	p := f.s.paths(f.ev)
	want := []string{"dir=" + p.dir, "event=" + p.eventFile, "extra=x", "standby="}
	if st.Phase != core.PhaseSucceeded || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("worker = %+v %q; want SUCCEEDED and %q", st, lines, want)
	}
}

func TestCloseEndsIdleStandbys(t *testing.T) {
	s := newTestSubstrate(t, Options{StandbyCommand: standbyCommand(t), StandbyWorkers: 2})
	pid := idleStandby(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close reaped it: the pid is free (or reused by an unrelated process,
	// which cannot be a child of ours).
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); !errors.Is(err, syscall.ECHILD) {
		t.Errorf("standby %d is still a child after Close: %v", pid, err)
	}
}

// A standby let go at Close ends by itself (exit 0, so a worker's deferred
// work such as writing its CPU profile is done), rather than being killed.
func TestClosedStandbyExitsByItself(t *testing.T) {
	s := newTestSubstrate(t, Options{StandbyCommand: standbyCommand(t), StandbyWorkers: 1})
	idleStandby(t, s)
	sb := idleStandbyProc(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if sb.state == nil || !sb.state.Exited() || sb.state.ExitCode() != 0 {
		t.Errorf("the standby ended with %v; want exit status 0", sb.state)
	}
}
