package local

import (
	"errors"
	"fmt"
	"os"
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
	if !standby.Is() {
		// started for the event
	} else if _, err := standby.Await(); errors.Is(err, standby.ErrNoLaunch) {
		os.Exit(0)
	} else if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	wd, _ := os.Getwd()
	fmt.Println("dir=" + wd)
	fmt.Println("event=" + os.Getenv("BRIGADE_EVENT_FILE"))
	fmt.Println("extra=" + os.Getenv("EXTRA"))
	fmt.Println("standby=" + os.Getenv(standby.Env))
	code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
	os.Exit(code)
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

func newStandbyFixture(t *testing.T) *fixture {
	f := newFixture(t, Options{StandbyCommand: standbyCommand(t), StandbyWorkers: 1})
	t.Cleanup(func() { f.s.Close() })
	return f
}

func (f *fixture) startWorker(cmd []string, env map[string]string) (core.ExitStatus, []string) {
	f.t.Helper()
	w := &core.WorkerLaunch{Event: &core.Event{Metadata: core.ObjectMeta{ID: f.ev}}, EventDocument: []byte(`{}`),
		Command: cmd, Env: env}
	if _, err := f.s.StartWorker(f.ctx, w); err != nil {
		f.t.Fatal(err)
	}
	st, err := f.s.Wait(f.ctx, core.WorkloadRef{EventID: f.ev})
	if err != nil {
		f.t.Fatal(err)
	}
	return st, f.sink.Lines(core.LogStream{EventID: f.ev, Container: "worker"})
}

func (f *fixture) workerPid() int {
	w := f.s.get(core.WorkloadRef{EventID: f.ev})
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
	// The pool starts a replacement.
	if next := idleStandby(t, f.s); next == pid {
		t.Errorf("the used standby %d is still idle", pid)
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
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExited(t, pid)
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

// waitExited waits until pid has exited (a zombie or gone): its end of the
// launch pipe is closed then.
func waitExited(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:]); len(f) > 0 && f[0] == "Z" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d did not exit", pid)
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
