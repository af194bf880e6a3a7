//go:build linux

package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/substratetest"
)

func TestPidFileListsTheGroupsNotEnded(t *testing.T) {
	b := []byte("10 100\n11 110\n10 100 ended\n12 120 ended\n13 13x\n14 140 gone\n15 150\n")
	want := []pidGroup{{11, 110}, {15, 150}}
	if got := openGroups(b); !reflect.DeepEqual(got, want) {
		t.Fatalf("open groups %v, want %v", got, want)
	}
}

func TestCleanupKillsTheOpenGroupsOfASharedPidFile(t *testing.T) {
	s := newTestSubstrate(t, Options{})
	p, err := s.prepare("ev-shared", true)
	if err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "1000")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	shared := filepath.Join(p.pids, groupsFile)
	a, b, ended := start(), start(), start()
	for _, c := range []*exec.Cmd{a, b, ended} {
		if _, err := recordGroup(shared, c.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	// A group recorded as ended is not looked for (here its process still
	// runs, which a real ended group's cannot).
	_, st, err := procStat(ended.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := recordGroupEnd(shared, ended.Process.Pid, st); err != nil {
		t.Fatal(err)
	}
	if err := s.Cleanup(context.Background(), "ev-shared"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*exec.Cmd{a, b} {
		err := c.Wait()
		if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("a leftover group of the shared file was not killed: %v", err)
		}
	}
	if err := ended.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("a group recorded as ended was killed: %v", err)
	}
}

func TestAFinishedJobsGroupIsRecordedAsEnded(t *testing.T) {
	s := newTestSubstrate(t, Options{Sink: substratetest.NewMemSink(), NoMountNamespace: true})
	ctx := context.Background()
	t.Cleanup(func() { _ = s.Cleanup(ctx, "ev-ended") })
	for _, name := range []string{"one", "two"} {
		jl := &core.JobLaunch{EventID: "ev-ended", Job: &core.Job{Name: name, Spec: core.JobSpec{
			PrimaryContainer: core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Command: []string{"true"}}},
		}}}
		if _, err := s.StartJob(ctx, jl); err != nil {
			t.Fatal(err)
		}
		st, err := s.Wait(ctx, core.WorkloadRef{EventID: "ev-ended", Job: name})
		if err != nil || st.Phase != core.PhaseSucceeded {
			t.Fatalf("job %s: %+v, %v", name, st, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(s.paths("ev-ended").pids, groupsFile))
	if err != nil {
		t.Fatal(err)
	}
	if open := openGroups(b); len(open) != 0 {
		t.Fatalf("groups of finished jobs still open in the pid file: %v\n%s", open, b)
	}
}
