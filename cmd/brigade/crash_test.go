package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/sqlite"
)

// crashWait bounds every wait in these tests: generous, for a busy machine.
const crashWait = 2 * time.Minute

// crashServer is the real binary on one data dir, killed and restarted.
type crashServer struct {
	t       *testing.T
	bin     string
	dir     string
	addr    string
	env     []string
	proc    interface{ Kill() error }
	waitErr func()
	c       *client.Client
}

func (s *crashServer) start() {
	s.t.Helper()
	s.addr = freeAddr(s.t)
	cmd := startBinary(s.t, s.bin, s.dir, s.addr, s.env...)
	s.proc = cmd.Process
	s.waitErr = func() { cmd.Wait() }
	s.c = client.New("http://"+s.addr, rootToken(s.t, s.addr))
}

func (s *crashServer) kill() {
	s.t.Helper()
	if err := s.proc.Kill(); err != nil {
		s.t.Fatal(err)
	}
	s.waitErr()
}

// waitFor re-reads an event until cond holds.
func (s *crashServer) waitFor(id, what string, cond func(*core.Event) bool) *core.Event {
	s.t.Helper()
	var ev *core.Event
	waitUntil(s.t, what, func() bool {
		var err error
		if ev, err = s.c.GetEvent(s.t.Context(), id); err != nil {
			s.t.Fatalf("waiting for %s: %v", what, err)
		}
		return cond(ev)
	})
	return ev
}

func describeEvent(ev *core.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker %s", ev.Worker.Status.Phase)
	for _, j := range ev.Worker.Jobs {
		fmt.Fprintf(&b, ", job %s %s", j.Name, j.Status.Phase)
	}
	return b.String()
}

func (s *crashServer) project(id, script string) {
	s.t.Helper()
	if _, err := s.c.CreateProject(s.t.Context(), &core.Project{Metadata: core.ObjectMeta{ID: id}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
		WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
	}}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *crashServer) event(project string) string {
	s.t.Helper()
	evs, err := s.c.CreateEvent(s.t.Context(), &core.Event{ProjectID: project, Source: "brigade.sh/cli", Type: "exec"})
	if err != nil {
		s.t.Fatal(err)
	}
	return evs[0].Metadata.ID
}

// processGone reports whether pid no longer runs (exited, or a zombie
// waiting for its reaper).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) || os.IsNotExist(err)
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

// waitUntil re-checks cond until it holds. These tests watch another
// process (its files, its processes, its API) from outside, where there is
// no change feed to wait on.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(crashWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond) // polling another process's effects
	}
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; skipped with -short")
	}
	bin := buildBinary(t)

	// A job still pending when its event was aborted by a restart must
	// never run, and a job running then must end ABORTED with its process
	// gone, even if the server is killed again right after the restart.
	t.Run("JobsOfAnEventAbortedAcrossTwoRestarts", func(t *testing.T) {
		pids := t.TempDir()
		s := &crashServer{t: t, bin: bin, dir: t.TempDir(), env: []string{"BRIGADE_MAX_JOBS=1", "BRIGADE_CLEANUP_DELAY=1h"}}
		s.start()
		s.project("two-jobs", fmt.Sprintf(`const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const job = name => {
    const j = new Job(name, "debian:12-slim", event);
    j.primaryContainer.command = ["sh"];
    j.primaryContainer.arguments = ["-c", "echo $$ > %s/" + name + "; exec sleep 300"];
    return j.run();
  };
  await Promise.all([job("first"), job("second")]);
});
events.process();`, pids))
		id := s.event("two-jobs")
		var running string
		s.waitFor(id, "one job RUNNING, the other PENDING", func(ev *core.Event) bool {
			if len(ev.Worker.Jobs) != 2 {
				return false
			}
			a, b := ev.Worker.Jobs[0], ev.Worker.Jobs[1]
			switch {
			case a.Status.Phase == core.PhaseRunning && b.Status.Phase == core.PhasePending:
				running = a.Name
			case b.Status.Phase == core.PhaseRunning && a.Status.Phase == core.PhasePending:
				running = b.Name
			}
			return running != ""
		})
		pidFile := filepath.Join(pids, running)
		waitUntil(t, "the running job to write its pid", func() bool {
			b, err := os.ReadFile(pidFile)
			return err == nil && strings.HasSuffix(string(b), "\n")
		})
		b, _ := os.ReadFile(pidFile)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}

		s.kill()
		s.start()
		s.kill() // right after it came up: whatever it had not finished
		s.start()
		ev := s.waitFor(id, "the event and both jobs terminal", func(ev *core.Event) bool {
			for _, j := range ev.Worker.Jobs {
				if !j.Status.Phase.IsTerminal() {
					return false
				}
			}
			return ev.Worker.Status.Phase.IsTerminal()
		})
		if ev.Worker.Status.Phase != core.PhaseAborted {
			t.Fatalf("after two restarts: %s, want the worker ABORTED", describeEvent(ev))
		}
		for _, j := range ev.Worker.Jobs {
			want := core.PhaseCanceled
			if j.Name == running {
				want = core.PhaseAborted
			}
			if j.Status.Phase != want {
				t.Fatalf("after two restarts: %s; want job %s %s", describeEvent(ev), j.Name, want)
			}
		}
		waitUntil(t, fmt.Sprintf("the aborted job's process %d to be gone", pid), func() bool { return processGone(pid) })
		for _, j := range ev.Worker.Jobs {
			if j.Name != running {
				if _, err := os.Stat(filepath.Join(pids, j.Name)); !os.IsNotExist(err) {
					t.Fatalf("the job that was PENDING when its event was aborted ran anyway (%v)", err)
				}
			}
		}
	})

	// A finished event's folder (with event.json, which holds secrets and
	// the worker's token) is removed after the grace period even when the
	// server was killed before it was due, and the token stops working.
	t.Run("FoldersOfFinishedEventsRemovedAfterACrash", func(t *testing.T) {
		s := &crashServer{t: t, bin: bin, dir: t.TempDir(), env: []string{"BRIGADE_CLEANUP_DELAY=5s"}}
		s.start()
		s.project("quick", `console.log("done");`)
		id := s.event("quick")
		s.waitFor(id, "the event to succeed", func(ev *core.Event) bool { return ev.Worker.Status.Phase == core.PhaseSucceeded })
		folder := filepath.Join(s.dir, "events", id)
		doc, readErr := os.ReadFile(filepath.Join(folder, "event.json"))
		s.kill()
		if readErr != nil {
			t.Logf("the folder was already gone before the kill (a slow machine): %v", readErr)
		} else {
			st, err := sqlite.Open(t.Context(), filepath.Join(s.dir, "brigade.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			due, ok, err := st.Cleanups().Next(t.Context())
			st.Close()
			if err != nil || !ok {
				t.Fatalf("no cleanup entry survived the kill (%v)", err)
			}
			t.Logf("cleanup due at %s", due)
		}
		s.start()
		waitUntil(t, "the finished event's folder to be removed", func() bool {
			_, err := os.Stat(folder)
			return os.IsNotExist(err)
		})
		if readErr == nil {
			var d core.EventDocument
			if err := json.Unmarshal(doc, &d); err != nil {
				t.Fatal(err)
			}
			worker := client.New("http://"+s.addr, d.Worker.APIToken)
			if _, err := worker.GetEvent(t.Context(), id); err == nil {
				t.Fatal("the worker's token still works after its event was cleaned up")
			}
		}
	})
}
