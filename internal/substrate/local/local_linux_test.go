//go:build linux

package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/brigadeplatform/brigade/internal/substrate/substratetest"
)

func TestCleanupKillsGroupsOfAPreviousServer(t *testing.T) {
	s := newTestSubstrate(t, Options{})
	p, err := s.prepare("ev-old", true)
	if err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "1000")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	leftover, stranger := start(), start()
	t.Cleanup(func() { _ = stranger.Process.Kill(); _ = stranger.Wait() })
	if err := writePidFile(filepath.Join(p.pids, "job.a.a.pid"), leftover.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// A recorded group whose id now belongs to another process (another
	// start time) must survive.
	_, st, err := procStat(stranger.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	reused := fmt.Appendf(nil, "%d %d\n", stranger.Process.Pid, st+1)
	if err := os.WriteFile(filepath.Join(p.pids, "job.b.b.pid"), reused, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Cleanup(context.Background(), "ev-old"); err != nil {
		t.Fatal(err)
	}
	err = leftover.Wait()
	if ws, ok := leftover.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the leftover group was not killed: %v", err)
	}
	if err := stranger.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("a process whose pid was reused was killed: %v", err)
	}
	if _, err := os.Stat(p.dir); err == nil {
		t.Error("the event folder is still there")
	}
}

func TestCleanupKillsMembersOfAGroupWhoseLeaderIsGone(t *testing.T) {
	s := newTestSubstrate(t, Options{})
	p, err := s.prepare("ev-orphans", true)
	if err != nil {
		t.Fatal(err)
	}
	leader := exec.Command("sh", "-c", "sleep 1000 & echo $!")
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := leader.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	// Recorded while the leader exists (at worst as a zombie: not reaped yet).
	if err := writePidFile(filepath.Join(p.pids, "worker.pid"), leader.Process.Pid); err != nil {
		t.Fatal(err)
	}
	var member int
	if _, err := fmt.Fscan(out, &member); err != nil {
		t.Fatal(err)
	}
	if err := leader.Wait(); err != nil { // the leader is gone; its child lives on in the group
		t.Fatal(err)
	}
	if err := syscall.Kill(member, 0); err != nil {
		t.Skipf("the group member ended on its own: %v", err)
	}
	if err := s.Cleanup(context.Background(), "ev-orphans"); err != nil {
		t.Fatal(err)
	}
	if !substratetest.HostProcessGone(member) {
		_ = syscall.Kill(member, syscall.SIGKILL)
		t.Errorf("the member %d of a recorded group survived Cleanup", member)
	}
}
