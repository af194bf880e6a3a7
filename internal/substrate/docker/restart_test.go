package docker_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
)

// reattachedNote starts the line a re-attached container's log gets.
const reattachedNote = "[brigade] the server restarted"

// TestRestartReattaches drops a substrate while its jobs run (as a server
// that exits does) and starts another on the same data dir: List shows the
// jobs, Wait follows them again, and every line is stored exactly once,
// including those written while no server was following.
func TestRestartReattaches(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	workspace := filepath.Join(f.dataDir, "events", ev, "workspace")
	// Each job writes 2000 lines (long ones among them, which docker splits),
	// then waits for a file in the workspace, then writes 2000 more.
	script := func(gate string, code int) string {
		return `i=1; while test $i -le 2000; do echo "line $i"; if test $((i % 500)) = 0; then printf 'long%.0s' $(seq 1 5000); echo; fi; i=$((i+1)); done; ` +
			`echo "err before" >&2; echo half; while ! test -f /ws/` + gate + `; do sleep 0.05; done; ` +
			`while test $i -le 4000; do echo "line $i"; i=$((i+1)); done; echo "err after" >&2; printf 'no newline'; exit ` + strconv.Itoa(code)
	}
	running := f.job(ev, "running", script("go-running", 0))
	finished := f.job(ev, "finished", script("go-finished", 3))
	for _, jl := range []*core.JobLaunch{running, finished} {
		jl.UseWorkspace = true
		jl.Job.Spec.PrimaryContainer.WorkspaceMountPath = "/ws"
		if _, err := f.sub.StartJob(f.ctx, jl); err != nil {
			t.Fatal(err)
		}
	}
	for _, jl := range []*core.JobLaunch{running, finished} {
		if _, err := f.sink.WaitForLine(f.ctx, stream(jl, jl.Job.Name), "half"); err != nil {
			t.Fatal(err)
		}
	}
	// The server goes away; the containers go on.
	if err := f.sub.Close(); err != nil {
		t.Fatal(err)
	}
	for _, jl := range []*core.JobLaunch{running, finished} {
		if f.sink.Closed(stream(jl, jl.Job.Name)) {
			t.Fatalf("Close closed %s's log stream; the next server must be able to resume it", jl.Job.Name)
		}
	}
	// One job ends while nobody follows it …
	if err := os.WriteFile(filepath.Join(workspace, "go-finished"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.waitExited(f.inspect(finished, "finished").ID)

	// … and a new server re-attaches.
	f.sub = newSubstrate(t, f.dataDir, f.sink, memResume(f.sink))
	refs, err := f.sub.List(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, jl := range []*core.JobLaunch{running, finished} {
		if !slices.Contains(refs, ref(jl)) {
			t.Errorf("List after the restart lacks %s: %v", ref(jl), refs)
		}
	}
	st, err := f.sub.Wait(f.ctx, ref(finished))
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != core.PhaseFailed || st.ExitCode != 3 {
		t.Errorf("the job that ended meanwhile: %s, exit code %d (%s); want FAILED with 3", st.Phase, st.ExitCode, st.Reason)
	}
	waited := make(chan core.ExitStatus, 1)
	go func() {
		st, err := f.sub.Wait(f.ctx, ref(running))
		if err != nil {
			t.Error(err)
		}
		waited <- st
	}()
	// Re-attached (the substrate says so in the log) while it still runs.
	if _, err := f.sink.WaitForLine(f.ctx, stream(running, "running"), reattachedNote); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(workspace, "go-running"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if st := <-waited; st.Phase != core.PhaseSucceeded {
		t.Errorf("the re-attached job ended %s (%s); want SUCCEEDED", st.Phase, st.Reason)
	}
	for _, jl := range []*core.JobLaunch{running, finished} {
		s := stream(jl, jl.Job.Name)
		if !f.sink.Closed(s) {
			t.Errorf("%s's log stream is not closed", jl.Job.Name)
		}
		lines, _ := f.split(s)
		var out, errs []string
		for _, l := range lines {
			if strings.HasPrefix(l, "err ") {
				errs = append(errs, l)
			} else {
				out = append(out, l)
			}
		}
		var want []string
		for i := 1; i <= 4000; i++ {
			want = append(want, "line "+strconv.Itoa(i))
			if i <= 2000 && i%500 == 0 {
				want = append(want, strings.Repeat("long", 5000))
			}
			if i == 2000 {
				want = append(want, "half")
			}
		}
		want = append(want, "no newline")
		if strings.Join(out, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: stdout has %d lines, want %d, each once and in order; first difference at %d",
				jl.Job.Name, len(out), len(want), firstDiff(out, want))
		}
		if strings.Join(errs, ",") != "err before,err after" {
			t.Errorf("%s: stderr lines %q; want err before, err after", jl.Job.Name, errs)
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// waitExited blocks until a container no longer runs.
func (f *fixture) waitExited(id string) {
	f.t.Helper()
	w, err := f.cli.ContainerWait(f.ctx, id, dockerapi.WaitNotRunning)
	if err == nil {
		err = (<-w).Err
	}
	if err != nil {
		f.t.Fatal(err)
	}
}

// TestCleanupAfterRestart cleans up an event whose job a previous server
// started: the job is re-attached, stopped and removed, and its log is
// complete and closed.
func TestCleanupAfterRestart(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	jl := f.job(ev, "sleeper", `echo before; sleep 1000`)
	jl.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{"side": f.job(ev, "x", "echo side; sleep 1000").Job.Spec.PrimaryContainer}
	if _, err := f.sub.StartJob(f.ctx, jl); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"sleeper", "side"} {
		if _, err := f.sink.WaitForLine(f.ctx, stream(jl, c), map[string]string{"sleeper": "before", "side": "side"}[c]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.sub.Close(); err != nil {
		t.Fatal(err)
	}
	f.sub = newSubstrate(t, f.dataDir, f.sink, memResume(f.sink))
	// The observer follows the job (Wait) and cleans the event up at once.
	waited := make(chan error, 1)
	go func() {
		st, err := f.sub.Wait(f.ctx, ref(jl))
		if err == nil && !st.Stopped {
			t.Errorf("Wait during Cleanup returned %+v; want a stopped job (or not found)", st)
		}
		waited <- err
	}()
	if err := f.sub.Cleanup(f.ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil && !core.IsNotFound(err) {
		t.Errorf("Wait during Cleanup: %v", err)
	}
	for c, want := range map[string]string{"sleeper": "before", "side": "side"} {
		if !f.sink.Closed(stream(jl, c)) {
			t.Errorf("the log of %s is not closed after Cleanup", c)
		}
		if lines, _ := f.split(stream(jl, c)); strings.Join(lines, ",") != want {
			t.Errorf("the log of %s holds %q; want %q once", c, lines, want)
		}
	}
	res, err := f.cli.ContainerList(f.ctx, dockerapi.ListOptions{All: true, Labels: []string{"sh.brigade.event=" + ev}})
	if err != nil || len(res) != 0 {
		t.Errorf("containers of the event after Cleanup: %d (%v); want none", len(res), err)
	}
	if _, err := f.sub.Wait(f.ctx, ref(jl)); !core.IsNotFound(err) {
		t.Errorf("Wait after Cleanup: %v; want not found", err)
	}
}
