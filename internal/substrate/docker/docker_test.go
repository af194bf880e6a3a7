package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
	"github.com/brigadeplatform/brigade/internal/substrate/docker"
	"github.com/brigadeplatform/brigade/internal/substrate/substratetest"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testImage is the image the tests run: setup.sh imports it without a
// registry.
func testImage() string { return testenv.DockerImage() }

// needDocker skips the test when no daemon (or no test image) is there,
// saying why; with BRIGADE_TEST_DOCKER=1 (as in CI) it fails instead.
func needDocker(t *testing.T) {
	t.Helper()
	testenv.NeedDocker(t)
}

// newSubstrate returns a docker substrate on dataDir that is closed when
// the test ends.
func newSubstrate(t *testing.T, dataDir string, sink core.LogSink, resume func(context.Context, core.LogStream) (docker.LogPosition, error)) *docker.Substrate {
	t.Helper()
	s, err := docker.New(docker.Options{DataDir: dataDir, Sink: sink, SidecarGrace: 500 * time.Millisecond, Resume: resume})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// memResume is Options.Resume over a MemSink.
func memResume(sink *substratetest.MemSink) func(context.Context, core.LogStream) (docker.LogPosition, error) {
	return func(_ context.Context, s core.LogStream) (docker.LogPosition, error) {
		var pos docker.LogPosition
		for _, e := range sink.Entries(s) {
			if !strings.HasPrefix(e.Message, substratetest.NotePrefix) {
				pos.Lines++
				pos.Last = *e.Time
			}
		}
		return pos, nil
	}
}

func TestConformance(t *testing.T) {
	needDocker(t)
	substratetest.Run(t, substratetest.Harness{
		New: func(t *testing.T, sink core.LogSink) core.Substrate {
			ms, _ := sink.(*substratetest.MemSink)
			var resume func(context.Context, core.LogStream) (docker.LogPosition, error)
			if ms != nil {
				resume = memResume(ms)
			}
			return newSubstrate(t, t.TempDir(), sink, resume)
		},
		Image:          testImage(),
		SeparateStderr: true,
		// dockerd itself reads back and sends the 200,000 lines of
		// Job/FastWriterLosesNothing: ~10 s on a quiet machine, but past
		// the default 2 minutes under -race with the cores shared (CI).
		Timeout: 6 * time.Minute,
	})
}

// fixture is one docker-only case's world.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	dataDir string
	sink    *substratetest.MemSink
	sub     *docker.Substrate
	cli     *dockerapi.Client
}

func newFixture(t *testing.T) *fixture {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, dataDir: t.TempDir(), sink: substratetest.NewMemSink()}
	t.Cleanup(func() {
		for _, v := range f.sink.Violations() {
			t.Errorf("log sink protocol: %s", v)
		}
	})
	f.sub = newSubstrate(t, f.dataDir, f.sink, memResume(f.sink))
	cli, err := dockerapi.New("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	f.cli = cli
	return f
}

// event returns a fresh event id, cleaned up (by the fixture's current
// substrate) when the test ends.
func (f *fixture) event() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := "ev-" + hex.EncodeToString(b)
	f.t.Cleanup(func() {
		if err := f.sub.Cleanup(context.Background(), id); err != nil {
			f.t.Errorf("Cleanup(%s): %v", id, err)
		}
	})
	return id
}

func (f *fixture) job(eventID, name, script string) *core.JobLaunch {
	return &core.JobLaunch{EventID: eventID, ProjectID: "docker-tests", Environment: map[string]map[string]string{},
		Job: &core.Job{Name: name, Spec: core.JobSpec{PrimaryContainer: core.JobContainerSpec{ContainerSpec: core.ContainerSpec{
			Image: testImage(), Command: []string{"sh"}, Arguments: []string{"-c", script}}}}}}
}

func ref(jl *core.JobLaunch) core.WorkloadRef {
	return core.WorkloadRef{EventID: jl.EventID, Job: jl.Job.Name}
}

func stream(jl *core.JobLaunch, container string) core.LogStream {
	return core.LogStream{EventID: jl.EventID, Job: jl.Job.Name, Container: container}
}

// run starts a job and waits for it.
func (f *fixture) run(jl *core.JobLaunch) core.ExitStatus {
	f.t.Helper()
	if _, err := f.sub.StartJob(f.ctx, jl); err != nil {
		f.t.Fatalf("StartJob: %v", err)
	}
	st, err := f.sub.Wait(f.ctx, ref(jl))
	if err != nil {
		f.t.Fatalf("Wait: %v", err)
	}
	return st
}

// split returns a stream's container lines and the substrate's notes.
func (f *fixture) split(s core.LogStream) (lines, notes []string) {
	for _, l := range f.sink.Lines(s) {
		if strings.HasPrefix(l, substratetest.NotePrefix) {
			notes = append(notes, l)
		} else {
			lines = append(lines, l)
		}
	}
	return lines, notes
}

// inspect returns a job container, found by its labels.
func (f *fixture) inspect(jl *core.JobLaunch, name string) dockerapi.Container {
	f.t.Helper()
	res, err := f.cli.ContainerList(f.ctx, dockerapi.ListOptions{All: true, Labels: []string{
		docker.LabelEvent + "=" + jl.EventID, docker.LabelJob + "=" + jl.Job.Name, docker.LabelContainer + "=" + name}})
	if err != nil || len(res) != 1 {
		f.t.Fatalf("finding container %s of job %s by its labels: %v (%d found)", name, jl.Job.Name, err, len(res))
	}
	in, err := f.cli.ContainerInspect(f.ctx, res[0].ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return in
}

func expectFailed(t *testing.T, st core.ExitStatus, logText string, wants ...string) {
	t.Helper()
	if st.Phase != core.PhaseFailed {
		t.Errorf("job ended %s (%s); want FAILED", st.Phase, st.Reason)
	}
	for _, w := range wants {
		if !strings.Contains(logText, w) || !strings.Contains(st.Reason, w) {
			t.Errorf("the log or the reason lacks %q:\nreason: %s\nlog:\n%s", w, st.Reason, logText)
		}
	}
}

func TestPullPolicy(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	t.Run("AlwaysFailsWithoutRegistry", func(t *testing.T) {
		jl := f.job(ev, "always", "echo should-not-run")
		jl.Job.Spec.PrimaryContainer.ImagePullPolicy = "Always"
		st := f.run(jl)
		expectFailed(t, st, strings.Join(f.sink.Lines(stream(jl, "always")), "\n"), `cannot pull image "`+testImage()+`"`)
	})
	t.Run("IfNotPresentUsesTheLocalImage", func(t *testing.T) {
		jl := f.job(ev, "present", "echo ran")
		jl.Job.Spec.PrimaryContainer.ImagePullPolicy = "IfNotPresent"
		if st := f.run(jl); st.Phase != core.PhaseSucceeded {
			t.Errorf("job ended %s (%s); want SUCCEEDED", st.Phase, st.Reason)
		}
		if _, notes := f.split(stream(jl, "present")); len(notes) != 0 {
			t.Errorf("notes %q; want no pull with the image present", notes)
		}
	})
	t.Run("NeverWithoutTheImageFails", func(t *testing.T) {
		jl := f.job(ev, "never", "true")
		jl.Job.Spec.PrimaryContainer.Image = "brigade-test/not-there:1"
		jl.Job.Spec.PrimaryContainer.ImagePullPolicy = "Never"
		st := f.run(jl)
		expectFailed(t, st, strings.Join(f.sink.Lines(stream(jl, "never")), "\n"), "imagePullPolicy is Never")
	})
}

func TestPrivileged(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	refused := f.job(ev, "refused", "echo should-not-run")
	refused.Job.Spec.PrimaryContainer.Privileged = true
	st := f.run(refused)
	expectFailed(t, st, strings.Join(f.sink.Lines(stream(refused, "refused")), "\n"), "allowPrivileged")

	allowed := f.job(ev, "allowed", "echo privileged-ran")
	allowed.Job.Spec.PrimaryContainer.Privileged = true
	allowed.AllowPrivileged = true
	st = f.run(allowed)
	switch {
	case st.Phase == core.PhaseSucceeded:
	case strings.Contains(st.Reason, "operation not permitted"):
		// A daemon inside a sandbox may not grant every capability.
		t.Logf("this daemon cannot run privileged containers (%s); checking the container's settings only", st.Reason)
	default:
		t.Fatalf("a privileged job the policy allows ended %s (%s)", st.Phase, st.Reason)
	}
	if !f.inspect(allowed, "allowed").HostConfig.Privileged {
		t.Error("the allowed job's container is not privileged")
	}
}

func TestResourcesAndLabels(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	jl := f.job(ev, "limited", "echo limited")
	jl.Job.Spec.PrimaryContainer.Resources = &core.ResourceRequirements{
		Requests: &core.Resources{CPU: "250m", Memory: "32Mi"}, Limits: &core.Resources{CPU: "500m", Memory: "64Mi"}}
	jl.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{"side": f.job(ev, "x", "true").Job.Spec.PrimaryContainer}
	if st := f.run(jl); st.Phase != core.PhaseSucceeded {
		t.Fatalf("job ended %s (%s)", st.Phase, st.Reason)
	}
	in := f.inspect(jl, "limited")
	r := in.HostConfig.Resources
	if r.NanoCPUs != 5e8 || r.Memory != 64<<20 || r.CPUShares != 256 || r.MemoryReservation != 32<<20 {
		t.Errorf("container resources NanoCPUs=%d Memory=%d CPUShares=%d MemoryReservation=%d; "+
			"want 500000000, 67108864, 256, 33554432", r.NanoCPUs, r.Memory, r.CPUShares, r.MemoryReservation)
	}
	for name, role := range map[string]string{"limited": docker.RolePrimary, "side": docker.RoleSidecar} {
		labels := f.inspect(jl, name).Config.Labels
		for k, v := range map[string]string{docker.LabelEvent: ev, docker.LabelProject: "docker-tests",
			docker.LabelJob: "limited", docker.LabelContainer: name, docker.LabelRole: role} {
			if labels[k] != v {
				t.Errorf("container %s: label %s = %q; want %q", name, k, labels[k], v)
			}
		}
	}
}

func TestSidecarSharesNetwork(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	// The sidecar hands its network namespace to the primary through a
	// FIFO in the workspace: each side blocks until the other opens it, so
	// neither polls for the other.
	ws := filepath.Join(f.dataDir, "events", ev, "workspace")
	if err := os.MkdirAll(ws, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(ws, "side-ns"), 0o666); err != nil {
		t.Fatal(err)
	}
	jl := f.job(ev, "net", `ns="$(cat /ws/side-ns)"; `+
		`if test "$ns" = "$(readlink /proc/self/ns/net)"; then echo same-network; else echo other-network; fi`)
	jl.UseWorkspace = true
	jl.Job.Spec.PrimaryContainer.WorkspaceMountPath = "/ws"
	side := f.job(ev, "x", `readlink /proc/self/ns/net > /ws/side-ns; sleep 1000`).Job.Spec.PrimaryContainer
	side.WorkspaceMountPath = "/ws"
	jl.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{"side": side}
	if st := f.run(jl); st.Phase != core.PhaseSucceeded {
		t.Fatalf("job ended %s (%s)", st.Phase, st.Reason)
	}
	if lines, _ := f.split(stream(jl, "net")); strings.Join(lines, ",") != "same-network" {
		t.Errorf("primary log %q; want same-network", lines)
	}
	primary := f.inspect(jl, "net")
	if mode := f.inspect(jl, "side").HostConfig.NetworkMode; string(mode) != "container:"+primary.ID {
		t.Errorf("sidecar network mode %q; want container:%s", mode, primary.ID)
	}
	if _, notes := f.split(stream(jl, "side")); len(notes) != 1 || !strings.Contains(notes[0], "stopping sidecar side") {
		t.Errorf("sidecar notes %q; want one saying it was stopped after the primary", notes)
	}
}

func TestImageDefaultsMountsAndSocket(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	// No command: the image's entrypoint runs with these arguments.
	args := f.job(ev, "args", "")
	args.Job.Spec.PrimaryContainer.Command = nil
	args.Job.Spec.PrimaryContainer.Arguments = []string{"echo", "from", "arguments"}
	if st := f.run(args); st.Phase != core.PhaseSucceeded {
		t.Fatalf("job ended %s (%s)", st.Phase, st.Reason)
	}
	if lines, _ := f.split(stream(args, "args")); strings.Join(lines, ",") != "from arguments" {
		t.Errorf("log %q; want the arguments echoed", lines)
	}

	src := filepath.Join(f.dataDir, "events", ev, "source")
	if err := os.MkdirAll(src, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "README"), []byte("from the source folder\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	jl := f.job(ev, "mounts", `cat README; test -S /var/run/docker.sock && echo socket-mounted`)
	c := &jl.Job.Spec.PrimaryContainer
	c.SourceMountPath, c.WorkingDirectory, c.UseHostDockerSocket = "/src", "/src", true
	if st := f.run(jl); st.Phase != core.PhaseSucceeded {
		t.Fatalf("job ended %s (%s): %q", st.Phase, st.Reason, f.sink.Lines(stream(jl, "mounts")))
	}
	if lines, _ := f.split(stream(jl, "mounts")); strings.Join(lines, ",") != "from the source folder,socket-mounted" {
		t.Errorf("log %q; want the source file and the socket", lines)
	}
}

func TestNodeSelectorIsNotedOnce(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	jl := f.job(ev, "placed", "echo placed")
	jl.Job.Spec.Host = &core.JobHost{NodeSelector: map[string]string{"disk": "ssd"}, Name: "node-7"}
	if st := f.run(jl); st.Phase != core.PhaseSucceeded {
		t.Fatalf("job ended %s (%s)", st.Phase, st.Reason)
	}
	lines, notes := f.split(stream(jl, "placed"))
	if len(notes) != 1 || !strings.Contains(notes[0], "host.nodeSelector disk=ssd") || !strings.Contains(notes[0], "host.name node-7") {
		t.Errorf("notes %q; want exactly one naming the node selector and host name", notes)
	}
	if strings.Join(lines, ",") != "placed" {
		t.Errorf("log %q; want placed", lines)
	}
}

func TestCheckNamesTheSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "no-docker.sock")
	s, err := docker.New(docker.Options{Host: "unix://" + sock, DataDir: t.TempDir(), Sink: substratetest.NewMemSink()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = s.Check(ctx)
	if err == nil {
		t.Fatal("Check passed without a daemon")
	}
	for _, want := range []string{sock, "start dockerd", "--substrate local", "DOCKER_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check's error lacks %q: %v", want, err)
		}
	}
}

// Removals of one container may race (two Cleanups of an event, a test's
// own cleanup beside the server's): docker answers all but one 409
// "removal of container … is already in progress". RemoveContainer waits
// that out, so every removal succeeds and returns once the container is
// gone.
func TestConcurrentRemovalsOfAContainer(t *testing.T) {
	f := newFixture(t)
	for round := range 3 {
		res, err := f.cli.ContainerCreate(f.ctx, "",
			&dockerapi.Config{Image: testImage(), Cmd: []string{"sleep", "1000"},
				Labels: map[string]string{docker.LabelDataDir: f.dataDir}},
			&dockerapi.HostConfig{NetworkMode: "none"})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.cli.ContainerStart(f.ctx, res.ID); err != nil {
			t.Fatal(err)
		}
		const n = 4
		errs := make(chan error, n)
		for range n {
			go func() {
				errs <- docker.RemoveContainer(f.ctx, f.cli, res.ID, dockerapi.RemoveOptions{Force: true})
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("round %d: a concurrent removal failed: %v", round, err)
			}
		}
		if _, err := f.cli.ContainerInspect(f.ctx, res.ID); !dockerapi.IsNotFound(err) {
			t.Errorf("round %d: inspecting the container after every removal returned: %v; want not found", round, err)
		}
	}
}

// Two Cleanups of the same event at once both succeed and leave no
// container.
func TestConcurrentCleanups(t *testing.T) {
	f := newFixture(t)
	ev := f.event()
	jl := f.job(ev, "long", "echo started; sleep 1000")
	jl.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{"side": f.job(ev, "x", "sleep 1000").Job.Spec.PrimaryContainer}
	if _, err := f.sub.StartJob(f.ctx, jl); err != nil {
		t.Fatal(err)
	}
	const n = 3
	errs := make(chan error, n)
	for range n {
		go func() { errs <- f.sub.Cleanup(f.ctx, ev) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("a concurrent Cleanup failed: %v", err)
		}
	}
	res, err := f.cli.ContainerList(f.ctx, dockerapi.ListOptions{All: true, Labels: []string{docker.LabelEvent + "=" + ev}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 0 {
		t.Errorf("%d containers of the event left after the Cleanups", len(res))
	}
}
