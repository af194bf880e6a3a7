package docker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
	"github.com/brigadeplatform/brigade/internal/substrate/docker"
)

// workerImage is a launch of a worker whose template names the test image,
// running script with sh -c.
func workerImage(eventID, script string) *core.WorkerLaunch {
	return &core.WorkerLaunch{
		Event: &core.Event{Metadata: core.ObjectMeta{ID: eventID}, ProjectID: "docker-tests", Worker: &core.Worker{
			Spec: core.WorkerSpec{Container: &core.ContainerSpec{Image: testImage(), Command: []string{"sh", "-c"}, Arguments: []string{script}}},
		}},
		EventDocument: []byte(`{"id": "` + eventID + `"}`),
		Env:           map[string]string{"FROM_TEMPLATE": "yes", "BRIGADE_EVENT_FILE": "overridden by the contract"},
		Command:       []string{"/the/built-in/worker/must/not/run"},
	}
}

func workerStream(eventID string) core.LogStream {
	return core.LogStream{EventID: eventID, Container: "worker"}
}

// TestWorkerImageRestart drops a substrate while a worker image runs and
// starts another on the same data dir: List shows the worker, Running
// counts it as a worker, Wait follows it again, and Stop ends it.
func TestWorkerImageRestart(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	w := workerImage(ev, `cat /var/event/event.json; echo; echo "FROM_TEMPLATE=$FROM_TEMPLATE $BRIGADE_EVENT_FILE"; echo up; exec sleep 1000`)
	if _, err := f.sub.StartWorker(f.ctx, w); err != nil {
		t.Fatal(err)
	}
	wref := core.WorkloadRef{EventID: ev}
	if _, err := f.sink.WaitForLine(f.ctx, workerStream(ev), "up"); err != nil {
		t.Fatal(err)
	}
	if workers, jobs, err := f.sub.Running(f.ctx); err != nil || workers != 1 || jobs != 0 {
		t.Errorf("Running = %d workers, %d jobs (%v); want the worker's container counted as a worker", workers, jobs, err)
	}
	if err := f.sub.Close(); err != nil {
		t.Fatal(err)
	}
	f.sub = newSubstrate(t, f.dataDir, f.sink, memResume(f.sink))
	refs, err := f.sub.List(f.ctx)
	if err != nil || !slices.Contains(refs, wref) {
		t.Fatalf("List after the restart = %v (%v); want the worker of %s", refs, err, ev)
	}
	waited := make(chan core.ExitStatus, 1)
	go func() {
		st, err := f.sub.Wait(f.ctx, wref)
		if err != nil {
			t.Error(err)
		}
		waited <- st
	}()
	if _, err := f.sink.WaitForLine(f.ctx, workerStream(ev), reattachedNote); err != nil {
		t.Fatal(err)
	}
	if workers, _, err := f.sub.Running(f.ctx); err != nil || workers != 1 {
		t.Errorf("Running after the restart = %d workers (%v); want 1", workers, err)
	}
	if err := f.sub.Stop(f.ctx, wref, time.Second); err != nil {
		t.Fatal(err)
	}
	if st := <-waited; st.Phase != core.PhaseAborted || !st.Stopped {
		t.Errorf("the stopped worker ended %s (%s); want ABORTED", st.Phase, st.Reason)
	}
	lines, _ := f.split(workerStream(ev))
	want := []string{`{"id": "` + ev + `"}`, "FROM_TEMPLATE=yes /var/event/event.json", "up"}
	if !slices.Equal(lines, want) {
		t.Errorf("worker log = %q; want %q (each line once)", lines, want)
	}
	if !f.sink.Closed(workerStream(ev)) {
		t.Error("the worker's log is not closed")
	}
	if err := f.sub.Cleanup(f.ctx, ev); err != nil {
		t.Fatal(err)
	}
	left, err := f.cli.ContainerList(f.ctx, dockerapi.ListOptions{All: true, Labels: []string{docker.LabelEvent + "=" + ev}})
	if err != nil || len(left) != 0 {
		t.Errorf("containers left after Cleanup: %+v (%v)", left, err)
	}
}

// TestWorkerImageFailures: a worker image that cannot run as its template
// says ends FAILED with the reason in its log.
func TestWorkerImageFailures(t *testing.T) {
	f := newFixture(t)
	for name, c := range map[string]struct {
		change func(*core.ContainerSpec)
		want   string
	}{
		"no such command": {func(c *core.ContainerSpec) { c.Command = []string{"/no/such/worker"} }, "exit code 127"},
		"bad pull policy": {func(c *core.ContainerSpec) { c.ImagePullPolicy = "Sometimes" }, `imagePullPolicy "Sometimes"`},
		"exit code 3":     {func(c *core.ContainerSpec) { c.Arguments = []string{"exit 3"} }, "exit code 3"},
	} {
		ev := f.event()
		w := workerImage(ev, "true")
		c.change(w.Event.Worker.Spec.Container)
		if _, err := f.sub.StartWorker(f.ctx, w); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st, err := f.sub.Wait(f.ctx, core.WorkloadRef{EventID: ev})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		log := strings.Join(f.sink.Lines(workerStream(ev)), "\n")
		if st.Phase != core.PhaseFailed || !strings.Contains(st.Reason+"\n"+log, c.want) {
			t.Errorf("%s: worker ended %s (%s); want FAILED, saying %q\n%s", name, st.Phase, st.Reason, c.want, log)
		}
	}
}

// TestWorkerImageSource: a project with git gets its source cloned (by
// Options.Checkout) into the folder its worker's container sees at
// /var/vcs, with git's lines in the vcs log; a failed clone fails the
// worker before its container is created.
func TestWorkerImageSource(t *testing.T) {
	f := newFixture(t)
	if err := f.sub.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := docker.New(docker.Options{DataDir: f.dataDir, Sink: f.sink, SidecarGrace: 500 * time.Millisecond,
		Checkout: func(_ context.Context, doc []byte, dir string, log func(string)) error {
			log("cloning for " + string(doc))
			if strings.Contains(string(doc), "fail") {
				return errors.New("the clone failed")
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				return fmt.Errorf("cloning into a folder that is not empty: %v, %v", entries, err)
			}
			return os.WriteFile(filepath.Join(dir, "README"), []byte("from git\n"), 0o644)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.sub = s
	for _, fail := range []bool{false, true} {
		ev := f.event()
		w := workerImage(ev, "cat /var/vcs/README")
		w.Event.Worker.Spec.Git = &core.GitConfig{CloneURL: "https://git.example.com/repo.git"}
		// What an earlier attempt to start the worker left.
		if err := os.MkdirAll(filepath.Join(f.dataDir, "events", ev, "source", ".git"), 0o755); err != nil {
			t.Fatal(err)
		}
		if fail {
			w.EventDocument = []byte(`{"fail": true}`)
		}
		if _, err := f.sub.StartWorker(f.ctx, w); err != nil {
			t.Fatal(err)
		}
		st, err := f.sub.Wait(f.ctx, core.WorkloadRef{EventID: ev})
		if err != nil {
			t.Fatal(err)
		}
		vcs := core.LogStream{EventID: ev, Container: "vcs"}
		if got := f.sink.Lines(vcs); len(got) != 1 || got[0] != "cloning for "+string(w.EventDocument) || !f.sink.Closed(vcs) {
			t.Errorf("vcs log %q (closed: %v); want the clone's one line, closed", got, f.sink.Closed(vcs))
		}
		log := f.sink.Lines(workerStream(ev))
		switch {
		case !fail && (st.Phase != core.PhaseSucceeded || !slices.Contains(log, "from git")):
			t.Errorf("worker ended %s (%s); want SUCCEEDED, having read /var/vcs/README\n%q", st.Phase, st.Reason, log)
		case fail && (st.Phase != core.PhaseFailed || !strings.Contains(st.Reason, "what git said is in the vcs log")):
			t.Errorf("worker of a failed clone ended %s (%s); want FAILED, pointing at the vcs log", st.Phase, st.Reason)
		}
	}
}
