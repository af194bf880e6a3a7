//go:build linux

package local

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// escapeScript starts a process that leaves the job's process group and
// session (setsid), writes its pid to pidFile, then runs rest.
func escapeScript(pidFile, rest string) core.JobContainerSpec {
	return sh(fmt.Sprintf(`setsid sh -c 'sleep 1000 & echo $! > %[1]s.tmp; mv %[1]s.tmp %[1]s; wait' &
while [ ! -s %[1]s ]; do sleep 0.01; done
%[2]s`, pidFile, rest))
}

// waitForPid reads the pid a job's escaped process wrote.
func waitForPid(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("pid file %s: %v", path, err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job's escaped process never wrote %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processRuns reports whether pid is a process that has not exited.
func processRuns(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// waitGone fails the test unless pid exits within a generous deadline.
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for processRuns(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("%s: process %d that left the job's process group still runs", what, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEscapedProcessesDieWithTheJob(t *testing.T) {
	cases := []struct {
		name string
		rest string // what the job does once its process escaped
		stop bool   // the job is stopped (cancel, timeout) rather than ending
	}{
		{"JobEnds", "exit 0", false},
		{"JobStopped", "sleep 1000", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			pidFile := filepath.Join(t.TempDir(), "escaped.pid")
			jl := f.launch("escape", escapeScript(pidFile, tc.rest))
			ref := core.WorkloadRef{EventID: f.ev, Job: "escape"}
			if _, err := f.s.StartJob(f.ctx, jl); err != nil {
				t.Fatal(err)
			}
			pid := waitForPid(t, pidFile)
			if tc.stop {
				if err := f.s.Stop(f.ctx, ref, time.Second); err != nil {
					t.Fatal(err)
				}
			}
			st, err := f.s.Wait(f.ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if tc.stop != (st.Phase == core.PhaseAborted) {
				t.Errorf("job ended %s", st.Phase)
			}
			waitGone(t, pid, tc.name)
		})
	}
}

// A new server on the same data dir kills what jobs of the previous one
// left running, wherever they moved.
func TestEscapedProcessesOfAPreviousServerAreKilled(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, Options{DataDir: dir})
	pidFile := filepath.Join(t.TempDir(), "escaped.pid")
	if _, err := f.s.StartJob(f.ctx, f.launch("escape", escapeScript(pidFile, "sleep 1000"))); err != nil {
		t.Fatal(err)
	}
	pid := waitForPid(t, pidFile)
	next, err := New(Options{DataDir: dir, Sink: f.sink})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = next.Close() })
	waitGone(t, pid, "after a restart")
}

// A worker is confined as a job is: what it starts and leaves its process
// group dies when the worker ends, whether it ran as a process of its own
// or on a standby started before its event.
func TestEscapedProcessesDieWithTheWorker(t *testing.T) {
	t.Run("Process", func(t *testing.T) {
		f := newFixture(t, Options{})
		pidFile := filepath.Join(t.TempDir(), "escaped.pid")
		script := escapeScript(pidFile, "exit 0")
		cmd := append(slices.Clone(script.Command), script.Arguments...)
		st, lines := f.startWorker(cmd, nil)
		if st.Phase != core.PhaseSucceeded {
			t.Fatalf("worker ended %+v: %q", st, lines)
		}
		waitGone(t, waitForPid(t, pidFile), "after the worker ended")
	})
	t.Run("Standby", func(t *testing.T) {
		f := newStandbyFixture(t)
		pid := idleStandby(t, f.s)
		pidFile := filepath.Join(t.TempDir(), "escaped.pid")
		st, lines := f.startWorker(standbyCommand(t), map[string]string{"ESCAPE_PIDFILE": pidFile})
		if got := f.workerPid(); got != pid {
			t.Fatalf("the worker ran as process %d, not as the standby %d", got, pid)
		}
		if st.Phase != core.PhaseSucceeded {
			t.Fatalf("worker ended %+v: %q", st, lines)
		}
		waitGone(t, waitForPid(t, pidFile), "after the standby's run ended")
	})
}
