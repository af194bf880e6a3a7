// Package workerimage_test checks the worker contract (docs/worker-contract.md)
// against a real server: a project whose worker template names an image
// runs its worker as a container of that image on the docker substrate,
// which sees its event document, environment and folders where the
// contract says, and whose exit code decides the worker's phase; cancel
// and timeout stop the container, cleanup removes it, and it outlives a
// restart of the server, which follows it again. The local
// substrate refuses such a worker with a reason in its log. The examples
// custom-worker-shell and custom-worker-steps (package examples) create
// jobs through the API from worker images.
package workerimage_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/substrate/docker"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// deadline bounds each wait; generous, since a busy machine may be slow.
// It only keeps a broken run from hanging.
const deadline = 3 * time.Minute

const password = "worker-image-password"

// platform is a real server on the substrate, logged in as root. On
// docker it needs the daemon and the test image (testenv.NeedDocker).
func platform(t *testing.T, substrate string) *client.Client {
	t.Helper()
	dataDir := t.TempDir()
	if substrate == "docker" {
		testenv.NeedDocker(t)
		testenv.RemoveDockerContainersAtEnd(t, dataDir)
	}
	srv, _ := testenv.Server(t, server.Config{DataDir: dataDir, RootPassword: password,
		CleanupDelay: 200 * time.Millisecond, Substrate: substrate})
	c, err := testenv.RootClient(t.Context(), srv, password)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// project is a project whose worker is the test image running script
// with sh -c.
func project(id, script string) *core.Project {
	return &core.Project{Metadata: core.ObjectMeta{ID: id}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
		WorkerTemplate: core.WorkerSpec{Container: &core.ContainerSpec{
			Image: testenv.DockerImage(), ImagePullPolicy: "IfNotPresent",
			Command: []string{"sh", "-c"}, Arguments: []string{script},
			Environment: map[string]string{"GREETING": "hello from the template"},
		}},
	}}
}

func create(t *testing.T, c *client.Client, p *core.Project) {
	t.Helper()
	if _, err := c.CreateProject(t.Context(), p); err != nil {
		t.Fatalf("creating project %s: %v", p.Metadata.ID, err)
	}
}

func send(t *testing.T, c *client.Client, projectID, payload string) string {
	t.Helper()
	evs, err := c.CreateEvent(t.Context(), &core.Event{ProjectID: projectID, Source: "brigade.sh/cli", Type: "exec", Payload: payload})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating an event for %s: %v (%d events)", projectID, err, len(evs))
	}
	return evs[0].Metadata.ID
}

// finish waits until the event's worker has ended and returns the event.
func finish(t *testing.T, c *client.Client, id string) *core.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	statuses, errs := c.WatchWorkerStatus(ctx, id)
	for range statuses {
	}
	if err := <-errs; err != nil {
		t.Fatalf("watching the worker of event %s: %v", id, err)
	}
	ev, err := c.GetEvent(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func workerLog(t *testing.T, c *client.Client, id string) string {
	t.Helper()
	lines, errs := c.Logs(t.Context(), id, client.LogOptions{})
	var sb strings.Builder
	for l := range lines {
		sb.WriteString(l.Message + "\n")
	}
	if err := <-errs; err != nil {
		t.Fatalf("reading the worker log of event %s: %v", id, err)
	}
	return sb.String()
}

// awaitLine follows the worker's log until a line holds want.
func awaitLine(t *testing.T, c *client.Client, id, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	lines, errs := c.Logs(ctx, id, client.LogOptions{Follow: true})
	for l := range lines {
		if strings.Contains(l.Message, want) {
			cancel()
			for range lines {
			}
			<-errs
			return
		}
	}
	t.Fatalf("the worker log of event %s ended without %q (%v)", id, want, <-errs)
}

// containers lists the worker containers of an event on the daemon.
func containers(t *testing.T, id string) []dockerapi.ContainerSummary {
	t.Helper()
	cli, err := dockerapi.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(t.Context(), dockerapi.ListOptions{All: true,
		Labels: []string{docker.LabelEvent + "=" + id, docker.LabelRole + "=" + docker.RoleWorker}})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// awaitContainers waits until the event's worker containers satisfy ok.
func awaitContainers(t *testing.T, id, what string, ok func([]dockerapi.ContainerSummary) bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		list := containers(t, id)
		if ok(list) {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("the worker containers of event %s never %s: %+v", id, what, list)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func running(list []dockerapi.ContainerSummary) bool {
	for _, c := range list {
		if c.State == dockerapi.StateRunning {
			return true
		}
	}
	return false
}

// contractScript checks what the contract gives a worker, says so, and
// exits with the event's payload as its code.
const contractScript = `set -e
doc=/var/event/event.json
test -f "$doc" && echo "event document at $doc"
echo "BRIGADE_EVENT_FILE=$BRIGADE_EVENT_FILE"
echo "GREETING=$GREETING"
grep -q '"apiToken": "' "$doc" && echo "the document holds the worker's token"
grep -q '"greeting": "hunter2"' "$doc" && echo "the document holds the project's secrets"
test -d /var/vcs && echo "source folder /var/vcs"
test -d /var/workspace && echo "workspace /var/workspace" && echo shared > /var/workspace/note
exit "$(sed -n 's/^  "payload": "\([0-9]*\)",$/\1/p' "$doc")"
`

func TestWorkerImageContractAndExitCode(t *testing.T) {
	c := platform(t, "docker")
	p := project("contract", contractScript)
	p.Spec.WorkerTemplate.UseWorkspace = true
	create(t, c, p)
	if err := c.SetSecret(t.Context(), "contract", core.Secret{Key: "greeting", Value: "hunter2"}); err != nil {
		t.Fatal(err)
	}
	for payload, phase := range map[string]core.WorkerPhase{"0": core.PhaseSucceeded, "3": core.PhaseFailed} {
		id := send(t, c, "contract", payload)
		ev := finish(t, c, id)
		log := workerLog(t, c, id)
		if ev.Worker.Status.Phase != phase {
			t.Errorf("exit code %s: worker %s, want %s\n%s", payload, ev.Worker.Status.Phase, phase, log)
		}
		for _, want := range []string{
			`[brigade] docker substrate: running the worker image "` + testenv.DockerImage() + `"`,
			"event document at /var/event/event.json", "BRIGADE_EVENT_FILE=/var/event/event.json",
			"GREETING=hello from the template", "the document holds the worker's token",
			"the document holds the project's secrets", "source folder /var/vcs", "workspace /var/workspace",
		} {
			if !strings.Contains(log, want) {
				t.Errorf("exit code %s: the worker log lacks %q:\n%s", payload, want, log)
			}
		}
		// The event's cleanup removes the container.
		awaitContainers(t, id, "went away", func(l []dockerapi.ContainerSummary) bool { return len(l) == 0 })
	}
}

func TestWorkerImageCancel(t *testing.T) {
	c := platform(t, "docker")
	create(t, c, project("cancel", `echo "worker up"; exec sleep 1000`))
	id := send(t, c, "cancel", "")
	awaitLine(t, c, id, "worker up")
	if !running(containers(t, id)) {
		t.Fatalf("the worker logs, but no container of it runs: %+v", containers(t, id))
	}
	if err := c.CancelEvent(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	ev := finish(t, c, id)
	if ev.Worker.Status.Phase != core.PhaseAborted {
		t.Errorf("canceled worker %s, want ABORTED", ev.Worker.Status.Phase)
	}
	awaitContainers(t, id, "stopped", func(l []dockerapi.ContainerSummary) bool { return !running(l) })
}

func TestWorkerImageTimeout(t *testing.T) {
	c := platform(t, "docker")
	p := project("timeout", `echo "worker up"; exec sleep 1000`)
	p.Spec.WorkerTemplate.TimeoutDuration = "2s"
	create(t, c, p)
	id := send(t, c, "timeout", "")
	awaitLine(t, c, id, "worker up")
	ev := finish(t, c, id)
	if ev.Worker.Status.Phase != core.PhaseTimedOut {
		t.Errorf("worker %s, want TIMED_OUT\n%s", ev.Worker.Status.Phase, workerLog(t, c, id))
	}
	awaitContainers(t, id, "stopped", func(l []dockerapi.ContainerSummary) bool { return !running(l) })
}

// TestWorkerImageCannotBePulled: an image the daemon lacks and cannot
// pull (its registry refuses connections) fails the worker with the
// reason in its log.
func TestWorkerImageCannotBePulled(t *testing.T) {
	c := platform(t, "docker")
	p := project("missing", "true")
	p.Spec.WorkerTemplate.Container.Image = "127.0.0.1:1/brigade-test/custom-worker-never-built:latest"
	create(t, c, p)
	id := send(t, c, "missing", "")
	ev := finish(t, c, id)
	log := workerLog(t, c, id)
	if ev.Worker.Status.Phase != core.PhaseFailed || !strings.Contains(log, "cannot pull image") {
		t.Errorf("worker %s, want FAILED with the reason in its log:\n%s", ev.Worker.Status.Phase, log)
	}
}

// TestLocalSubstrateRefusesWorkerImage: the local substrate runs only the
// built-in worker; a project that names an image learns so from its
// worker's log and phase, and nothing runs in its stead.
func TestLocalSubstrateRefusesWorkerImage(t *testing.T) {
	c := platform(t, "local")
	create(t, c, project("refused", "echo this must not run"))
	id := send(t, c, "refused", "")
	ev := finish(t, c, id)
	log := workerLog(t, c, id)
	if ev.Worker.Status.Phase != core.PhaseFailed {
		t.Errorf("worker %s, want FAILED\n%s", ev.Worker.Status.Phase, log)
	}
	for _, want := range []string{`names the image "` + testenv.DockerImage() + `"`, "only the built-in",
		"--substrate docker"} {
		if !strings.Contains(log, want) {
			t.Errorf("the worker log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "this must not run") || strings.Contains(log, "brigade-worker version") {
		t.Errorf("something ran in the refused worker's stead:\n%s", log)
	}
}

// TestWorkerImageOutlivesARestart: a worker image's container goes on
// while the server is down; the next server on the same data dir follows
// it again, stores its log without losing or repeating a line, and reports
// its outcome.
func TestWorkerImageOutlivesARestart(t *testing.T) {
	testenv.NeedDocker(t)
	dataDir := t.TempDir()
	testenv.RemoveDockerContainersAtEnd(t, dataDir)
	cfg := server.Config{DataDir: dataDir, RootPassword: password, CleanupDelay: 200 * time.Millisecond, Substrate: "docker"}
	first, stop := testenv.Server(t, cfg)
	c, err := testenv.RootClient(t.Context(), first, password)
	if err != nil {
		t.Fatal(err)
	}
	p := project("restart", `echo "before the restart"; while ! test -f /var/workspace/go; do sleep 0.1; done; echo "after the restart"`)
	p.Spec.WorkerTemplate.UseWorkspace = true
	create(t, c, p)
	id := send(t, c, "restart", "")
	awaitLine(t, c, id, "before the restart")
	stop()
	if !running(containers(t, id)) {
		t.Fatal("the worker's container did not outlive the server")
	}
	if err := os.WriteFile(filepath.Join(dataDir, "events", id, "workspace", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	second, _ := testenv.Server(t, cfg)
	c, err = testenv.RootClient(t.Context(), second, password)
	if err != nil {
		t.Fatal(err)
	}
	ev := finish(t, c, id)
	log := workerLog(t, c, id)
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Errorf("worker %s after the restart, want SUCCEEDED\n%s", ev.Worker.Status.Phase, log)
	}
	for _, line := range []string{"before the restart", "after the restart"} {
		if n := strings.Count(log, line+"\n"); n != 1 {
			t.Errorf("%q is %d times in the worker log, want once:\n%s", line, n, log)
		}
	}
	if !strings.Contains(log, "[brigade] the server restarted") {
		t.Errorf("the worker log does not say that it was followed again:\n%s", log)
	}
}
