package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/substratetest"
)

func TestMain(m *testing.M) {
	MaybeRunMountHelper()
	runTestWorker()
	os.Exit(m.Run())
}

const testImage = "busybox:1.36"

func newTestSubstrate(t testing.TB, opts Options) *Substrate {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.Sink == nil {
		opts.Sink = substratetest.NewMemSink()
	}
	if opts.SidecarGrace == 0 {
		opts.SidecarGrace = 200 * time.Millisecond
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The suite cleans up every event it made: nothing may be left.
		if refs, _ := s.List(context.Background()); len(refs) > 0 {
			t.Errorf("workloads left after the test: %v", refs)
		}
	})
	return s
}

func harness(noBind bool) substratetest.Harness {
	return substratetest.Harness{
		New: func(t *testing.T, sink core.LogSink) core.Substrate {
			s := newTestSubstrate(t, Options{Sink: sink, NoMountNamespace: noBind})
			if !noBind && !s.BindMounts() {
				t.Skip("bind mounts need root with CAP_SYS_ADMIN on Linux; run the tests as root to cover them")
			}
			return s
		},
		Image:       testImage,
		ProcessGone: substratetest.HostProcessGone,
	}
}

func TestConformance(t *testing.T) {
	t.Run("Folders", func(t *testing.T) { substratetest.Run(t, harness(true)) })
	t.Run("BindMounts", func(t *testing.T) {
		if os.Geteuid() != 0 || runtime.GOOS != "linux" {
			t.Skip("bind mounts need root on Linux; run the tests as root to cover them")
		}
		substratetest.Run(t, harness(false))
	})
}

// fixture runs single jobs on one substrate and event.
type fixture struct {
	t    *testing.T
	s    *Substrate
	sink *substratetest.MemSink
	ev   string
	ctx  context.Context
}

func newFixture(t *testing.T, opts Options) *fixture {
	sink := substratetest.NewMemSink()
	opts.Sink = sink
	s := newTestSubstrate(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	f := &fixture{t: t, s: s, sink: sink, ev: "ev-local", ctx: ctx}
	t.Cleanup(func() {
		if err := s.Cleanup(context.Background(), f.ev); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})
	return f
}

func (f *fixture) launch(name string, c core.JobContainerSpec) *core.JobLaunch {
	return &core.JobLaunch{EventID: f.ev, Job: &core.Job{Name: name, Spec: core.JobSpec{PrimaryContainer: c}},
		Environment: map[string]map[string]string{}}
}

func sh(script string) core.JobContainerSpec {
	return core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: testImage, Command: []string{"sh", "-c", script}}}
}

// run starts a job, waits for it and returns its status and every line of
// its primary stream (the substrate's notes included).
func (f *fixture) run(jl *core.JobLaunch) (core.ExitStatus, []string) {
	f.t.Helper()
	if _, err := f.s.StartJob(f.ctx, jl); err != nil {
		f.t.Fatalf("StartJob: %v", err)
	}
	st, err := f.s.Wait(f.ctx, core.WorkloadRef{EventID: jl.EventID, Job: jl.Job.Name})
	if err != nil {
		f.t.Fatalf("Wait: %v", err)
	}
	stream := core.LogStream{EventID: jl.EventID, Job: jl.Job.Name, Container: jl.Job.Name}
	if !f.sink.Closed(stream) {
		f.t.Error("stream not closed when Wait returned")
	}
	return st, f.sink.Lines(stream)
}

func TestImageNotPulledLine(t *testing.T) {
	f := newFixture(t, Options{})
	st, lines := f.run(f.launch("hello", sh("echo hi")))
	if st.Phase != core.PhaseSucceeded {
		t.Fatalf("job ended %s: %s", st.Phase, st.Reason)
	}
	want := []string{`[brigade] local substrate: running "sh -c echo hi" on the host; image "busybox:1.36" is not pulled`, "hi"}
	if !slices.Equal(lines, want) {
		t.Errorf("log = %q; want %q", lines, want)
	}
}

func TestJobWithoutCommandFails(t *testing.T) {
	f := newFixture(t, Options{})
	jl := f.launch("entrypoint", core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "alpine:3", Arguments: []string{"ls"}}})
	st, lines := f.run(jl)
	const want = "this job has no command and relies on its image's entrypoint; run it on the docker substrate (brigade server --substrate docker)"
	if st.Phase != core.PhaseFailed || st.Reason != want {
		t.Errorf("status %s %q; want FAILED %q", st.Phase, st.Reason, want)
	}
	if !slices.Equal(lines, []string{"[brigade] " + want}) {
		t.Errorf("log = %q", lines)
	}
}

func TestBrigadeVariablesFilteredOut(t *testing.T) {
	f := newFixture(t, Options{BaseEnv: []string{
		"PATH=" + os.Getenv("PATH"), "BRIGADE_ROOT_PASSWORD=hunter2", "BRIGADE_SCHEDULER_TOKEN=t0k3n", "KEEP_ME=1",
	}})
	jl := f.launch("env", sh("env"))
	jl.Environment["env"] = map[string]string{"BRIGADE_FROM_JOB": "set by the job", "KEEP_ME": "overridden"}
	_, lines := f.run(jl)
	joined := strings.Join(lines, "\n")
	for _, bad := range []string{"hunter2", "t0k3n", "BRIGADE_ROOT_PASSWORD", "BRIGADE_SCHEDULER_TOKEN"} {
		if strings.Contains(joined, bad) {
			t.Errorf("the job's environment holds %q:\n%s", bad, joined)
		}
	}
	p := f.s.paths(f.ev)
	for _, good := range []string{"KEEP_ME=overridden", "BRIGADE_FROM_JOB=set by the job",
		"BRIGADE_WORKSPACE=" + p.workspace, "BRIGADE_SOURCE=" + p.source} {
		if !slices.Contains(lines, good) {
			t.Errorf("the job's environment lacks %q:\n%s", good, joined)
		}
	}

	// The worker too.
	w := &core.WorkerLaunch{Event: &core.Event{Metadata: core.ObjectMeta{ID: f.ev}, ProjectID: "proj"}, EventDocument: []byte("{}"),
		Command: []string{"env"}, Env: map[string]string{"FROM_TEMPLATE": "yes"}}
	if _, err := f.s.StartWorker(f.ctx, w); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Wait(f.ctx, core.WorkloadRef{EventID: f.ev}); err != nil {
		t.Fatal(err)
	}
	wl := f.sink.Lines(core.LogStream{EventID: f.ev, Container: "worker"})
	if joined := strings.Join(wl, "\n"); strings.Contains(joined, "hunter2") || !slices.Contains(wl, "FROM_TEMPLATE=yes") ||
		!slices.Contains(wl, "BRIGADE_EVENT_FILE="+p.eventFile) ||
		!slices.Contains(wl, "BRIGADE_NPM_CACHE="+filepath.Join(filepath.Dir(f.s.eventsDir), "cache", "npm", "proj")) {
		t.Errorf("worker environment:\n%s", joined)
	}
}

func TestWorkerEventFileAndFolder(t *testing.T) {
	f := newFixture(t, Options{})
	doc := []byte(`{"secrets":{"k":"v"}}`)
	w := &core.WorkerLaunch{Event: &core.Event{Metadata: core.ObjectMeta{ID: f.ev}}, EventDocument: doc,
		Command: []string{"sh", "-c", `pwd; ls -l "$BRIGADE_EVENT_FILE"`}}
	if _, err := f.s.StartWorker(f.ctx, w); err != nil {
		t.Fatal(err)
	}
	if st, err := f.s.Wait(f.ctx, core.WorkloadRef{EventID: f.ev}); err != nil || st.Phase != core.PhaseSucceeded {
		t.Fatalf("worker: %+v %v", st, err)
	}
	p := f.s.paths(f.ev)
	lines := f.sink.Lines(core.LogStream{EventID: f.ev, Container: "worker"})
	if len(lines) != 2 || lines[0] != p.dir || !strings.HasPrefix(lines[1], "-rw-------") {
		t.Errorf("worker log = %q; want the event folder and a 0600 event.json", lines)
	}
	if b, err := os.ReadFile(p.eventFile); err != nil || string(b) != string(doc) {
		t.Errorf("event.json = %q, %v", b, err)
	}
}

func TestMountPathsAsFolders(t *testing.T) {
	f := newFixture(t, Options{NoMountNamespace: true})
	target := filepath.Join(t.TempDir(), "src")
	c := sh(`pwd; cat hello.txt; echo "$BRIGADE_SOURCE"`)
	c.SourceMountPath, c.WorkingDirectory = target, target
	p := f.s.paths(f.ev)
	if err := os.MkdirAll(p.source, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.source, "hello.txt"), []byte("from source\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, lines := f.run(f.launch("folders", c))
	if st.Phase != core.PhaseSucceeded {
		t.Fatalf("job ended %s: %s (%q)", st.Phase, st.Reason, lines)
	}
	want := []string{p.source, "from source", p.source}
	if got := lines[len(lines)-3:]; !slices.Equal(got, want) {
		t.Errorf("log = %q; want it to end with %q", lines, want)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "sourceMountPath "+target+" is not mounted") {
		t.Errorf("no note about the unmounted path in %q", lines)
	}
	if _, err := os.Stat(target); err == nil {
		t.Errorf("%s was created on the host without bind mounts", target)
	}
}

func TestMountPathsAsBindMounts(t *testing.T) {
	if os.Geteuid() != 0 || runtime.GOOS != "linux" {
		t.Skip("bind mounts need root on Linux (CAP_SYS_ADMIN); run the tests as root to cover them")
	}
	f := newFixture(t, Options{})
	if !f.s.BindMounts() {
		t.Skip("running as root, but a private mount namespace could not be set up (no CAP_SYS_ADMIN?)")
	}
	parent := filepath.Join(t.TempDir(), "missing")
	src := filepath.Join(parent, "src")
	ws := filepath.Join(src, "ws") // nested: created inside the mounted source folder
	c := sh(`pwd; cat hello.txt; echo made > out.txt; echo shared > ws/w.txt; cat /proc/self/mountinfo`)
	c.SourceMountPath, c.WorkspaceMountPath, c.WorkingDirectory = src, ws, src
	p := f.s.paths(f.ev)
	if err := os.MkdirAll(p.source, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.source, "hello.txt"), []byte("from source\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jl := f.launch("bound", c)
	jl.UseWorkspace = true
	st, lines := f.run(jl)
	if st.Phase != core.PhaseSucceeded {
		t.Fatalf("job ended %s: %s (%q)", st.Phase, st.Reason, lines)
	}
	if len(lines) < 3 || lines[1] != src || lines[2] != "from source" {
		t.Errorf("log = %q; want pwd %s and the source file", lines, src)
	}
	mountinfo := strings.Join(lines, "\n")
	for _, m := range []string{" " + src + " ", " " + ws + " "} {
		if !strings.Contains(mountinfo, m) {
			t.Errorf("the job's mount table has no mount at%s", m)
		}
	}
	if b, err := os.ReadFile(filepath.Join(p.source, "out.txt")); err != nil || string(b) != "made\n" {
		t.Errorf("source/out.txt = %q, %v; want what the job wrote at %s", b, err, src)
	}
	if b, err := os.ReadFile(filepath.Join(p.workspace, "w.txt")); err != nil || string(b) != "shared\n" {
		t.Errorf("workspace/w.txt = %q, %v; want what the job wrote at %s", b, err, ws)
	}
	// Nothing leaks to the host: no mount, and the created mount point is gone.
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), src) {
		t.Errorf("%s is mounted on the host", src)
	}
	if _, err := os.Stat(parent); err == nil {
		t.Errorf("the mount point %s created for the job is still on the host", parent)
	}
}

func TestWorkspaceWithoutUseWorkspaceFails(t *testing.T) {
	f := newFixture(t, Options{})
	c := sh("true")
	c.WorkspaceMountPath = "/var/workspace"
	st, lines := f.run(f.launch("nows", c))
	if st.Phase != core.PhaseFailed || !strings.Contains(st.Reason, "useWorkspace: true") {
		t.Errorf("status %s %q; want FAILED naming useWorkspace", st.Phase, st.Reason)
	}
	if len(lines) == 0 || !strings.Contains(lines[len(lines)-1], "useWorkspace") {
		t.Errorf("log = %q", lines)
	}
}

func TestMissingWorkingDirectoryFallsBack(t *testing.T) {
	f := newFixture(t, Options{})
	c := sh("pwd")
	c.WorkingDirectory = "/no/such/brigade/dir"
	st, lines := f.run(f.launch("nodir", c))
	if st.Phase != core.PhaseSucceeded || lines[len(lines)-1] != f.s.paths(f.ev).dir {
		t.Errorf("status %s, log %q; want the event folder", st.Phase, lines)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "/no/such/brigade/dir does not exist on the host") {
		t.Errorf("no note about the missing working directory: %q", lines)
	}
}

func TestLogsAreBatched(t *testing.T) {
	f := newFixture(t, Options{})
	jl := f.launch("batched", sh("seq 1 20000"))
	_, lines := f.run(jl)
	n := f.sink.Appends(core.LogStream{EventID: f.ev, Job: "batched", Container: "batched"})
	if len(lines) != 20001 || n > 2000 {
		t.Errorf("%d lines in %d appends; want 20001 lines in far fewer appends", len(lines), n)
	}
}

func TestCheck(t *testing.T) {
	s := newTestSubstrate(t, Options{})
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("Check on a fresh data dir: %v", err)
	}
	if err := os.RemoveAll(s.eventsDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.eventsDir, nil, 0o600); err != nil { // a file where the folder should be
		t.Fatal(err)
	}
	err := s.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not writable") || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("Check = %v; want an error that says the folder is not writable and how to fix it", err)
	}
}

func TestNoGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newFixture(t, Options{})
	for _, name := range []string{"one", "two"} {
		jl := f.launch(name, sh("echo hi; sleep 1000 & wait"))
		jl.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{"side": sh("sleep 1000")}
		if _, err := f.s.StartJob(f.ctx, jl); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.s.Cleanup(f.ctx, f.ev); err != nil {
		t.Fatal(err)
	}
	// A workload's goroutines return just after they signal its end, and
	// nothing signals their return: re-count, with a short interval, up to
	// a generous deadline (there is no change feed to wait on). Only a
	// leak fails this, never a slow machine.
	const wait = time.Minute
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines leaked: %d before the jobs, still %d %s after Cleanup returned:\n%s",
			before, n, wait, buf[:runtime.Stack(buf, true)])
	}
}

func TestUnhonouredPropertiesAreNotedOnce(t *testing.T) {
	spec := core.JobSpec{
		Host:  &core.JobHost{Name: "node-1", NodeSelector: map[string]string{"disk": "ssd"}},
		Cache: &core.JobCache{Path: "/cache"},
	}
	c := core.JobContainerSpec{Resources: &core.ResourceRequirements{Requests: &core.Resources{CPU: "100m", Memory: "64Mi"}},
		ServiceAccount: "builder"}
	note := unhonoured(&spec, &c, true)
	for _, want := range []string{`host.name "node-1"`, "host.nodeSelector disk=ssd", `cache at "/cache"`,
		"resource requests cpu=100m,memory=64Mi", `serviceAccount "builder"`} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
	if unhonoured(&core.JobSpec{}, &core.JobContainerSpec{}, true) != "" {
		t.Fatal("a plain job got a note")
	}
}

func TestWorkerImageRefused(t *testing.T) {
	f := newFixture(t, Options{})
	spec := core.WorkerSpec{Container: &core.ContainerSpec{Image: "example.com/team/python-worker:1", Command: []string{"python3", "/worker.py"}}}
	w := &core.WorkerLaunch{Event: &core.Event{Metadata: core.ObjectMeta{ID: f.ev}, Worker: &core.Worker{Spec: spec}},
		EventDocument: []byte(`{"secret":"s3cr3t"}`), Command: []string{"sh", "-c", "echo the built-in worker ran"}}
	if _, err := f.s.StartWorker(f.ctx, w); err != nil {
		t.Fatal(err)
	}
	st, err := f.s.Wait(f.ctx, core.WorkloadRef{EventID: f.ev})
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != core.PhaseFailed || !strings.Contains(st.Reason, "--substrate docker") {
		t.Errorf("worker ended %s (%q); want FAILED with a reason that points at the docker substrate", st.Phase, st.Reason)
	}
	stream := core.LogStream{EventID: f.ev, Container: "worker"}
	lines := f.sink.Lines(stream)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "[brigade] ") ||
		!strings.Contains(lines[0], `"example.com/team/python-worker:1"`) || !strings.Contains(lines[0], "only the built-in") {
		t.Errorf("worker log = %q; want one line that names the image and says why it does not run", lines)
	}
	if !f.sink.Closed(stream) {
		t.Error("the worker's log is not closed")
	}
	if _, err := os.Stat(f.s.paths(f.ev).eventFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("event.json was written for a worker that never runs (stat: %v)", err)
	}

	// Brigade's own worker image is what the built-in worker stands in for.
	if err := f.s.Cleanup(f.ctx, f.ev); err != nil {
		t.Fatal(err)
	}
	f.ev = "ev-local-builtin"
	w.Event = &core.Event{Metadata: core.ObjectMeta{ID: f.ev}, Worker: &core.Worker{Spec: core.WorkerSpec{
		Container: &core.ContainerSpec{Image: "brigadecore/brigade2-worker:v2.6.0"}}}}
	if _, err := f.s.StartWorker(f.ctx, w); err != nil {
		t.Fatal(err)
	}
	if st, err := f.s.Wait(f.ctx, core.WorkloadRef{EventID: f.ev}); err != nil || st.Phase != core.PhaseSucceeded {
		t.Fatalf("worker naming Brigade's worker image: %+v %v", st, err)
	}
}

// TestEventFileModeIsOwnerOnly: event.json is 0600 whether it is new or
// left by an earlier start with other bits, and holds the new document
// alone.
func TestEventFileModeIsOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name     string
		prep     func(path string)
		readOnly bool // only root may write it
	}{
		{"new", func(string) {}, false},
		{"left readable by all", func(path string) {
			if err := os.WriteFile(path, []byte(`{"old":"a longer document than the new one"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"left read-only", func(path string) {
			if err := os.WriteFile(path, []byte(`{}`), 0o400); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".json")
			c.prep(path)
			doc := []byte(`{"new":1}`)
			err := writeEventFile(path, doc)
			if c.readOnly && os.Geteuid() != 0 {
				// Not the owner's to write: the error says so, nothing leaks.
				if err == nil {
					t.Fatal("wrote a read-only file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want -rw-------", fi.Mode().Perm())
			}
			if b, _ := os.ReadFile(path); string(b) != string(doc) {
				t.Errorf("content %q, want %q", b, doc)
			}
		})
	}
}
