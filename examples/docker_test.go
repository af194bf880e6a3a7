package examples_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// dockerPlatform is a real server on the docker substrate, logged in as
// root. Without a Docker daemon and the test image it skips, naming why;
// with BRIGADE_TEST_DOCKER=1 (as in CI) it fails instead.
func dockerPlatform(t *testing.T) *client.Client {
	t.Helper()
	const image = "brigade-test/busybox:latest"
	testenv.NeedDocker(t)
	dataDir := t.TempDir()
	// Whatever the server leaves (it stops before its cleanup delay ran
	// out) is removed with the data dir.
	testenv.RemoveDockerContainersAtEnd(t, dataDir)
	srv, _ := testenv.Server(t, server.Config{DataDir: dataDir, RootPassword: "examples-password",
		CleanupDelay: 200 * time.Millisecond, Substrate: "docker"})
	c := client.New("http://"+srv.Addr(), "")
	tok, err := c.CreateRootSession(t.Context(), "examples-password")
	if err != nil {
		t.Fatal(err)
	}
	return c.WithToken(tok.Value)
}

func TestDockerExample(t *testing.T) {
	c := dockerPlatform(t)
	ev := runExample(t, c, "docker", "", nil)
	workerLog := logText(t, c, ev.Metadata.ID, "")
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s, want SUCCEEDED\nworker log:\n%s", ev.Worker.Status.Phase, workerLog)
	}
	if ev.Summary != "ran in containers" {
		t.Errorf("summary %q, want %q", ev.Summary, "ran in containers")
	}
	want := map[string]core.JobPhase{"writer": core.PhaseSucceeded, "reader": core.PhaseSucceeded,
		"with-sidecar": core.PhaseSucceeded, "beside": core.PhaseSucceeded, "flaky": core.PhaseFailed}
	var order []string
	for _, j := range ev.Worker.Jobs {
		order = append(order, j.Name)
		if _, known := want[j.Name]; !known {
			t.Errorf("unexpected job %s", j.Name)
			continue
		}
		if j.Status == nil || j.Status.Phase != want[j.Name] {
			t.Errorf("job %s ended %v, want %s", j.Name, j.Status, want[j.Name])
		}
		if j.Status != nil && (j.Status.Started == nil || j.Status.Ended == nil) {
			t.Errorf("job %s lacks its start or end time: %+v", j.Name, j.Status)
		}
	}
	// writer, reader, the concurrent pair, flaky: one step after another,
	// but with-sidecar and beside are created at the same time, in either
	// order.
	if len(order) != len(want) {
		t.Errorf("jobs %v, want the %d jobs of %v", order, len(want), want)
	}
	checkCreatedBefore(t, order, [][2]string{{"writer", "reader"}, {"reader", "with-sidecar"}, {"reader", "beside"},
		{"with-sidecar", "flaky"}, {"beside", "flaky"}})
	logs := map[string][]string{
		"writer":       {"wrote /share/message"},
		"reader":       {"the reader found: written in a container"},
		"with-sidecar": {"the sidecar shares this job's network"},
		"beside":       {"running beside the job with a sidecar"},
		"flaky":        {"about to fail"},
	}
	for job, wants := range logs {
		text := logText(t, c, ev.Metadata.ID, job)
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("log of job %s lacks %q:\n%s", job, w, text)
			}
		}
		if strings.Contains(text, "is not pulled") {
			t.Errorf("log of job %s says the image is not pulled: it ran on the local substrate, not in a container:\n%s", job, text)
		}
	}
	helper := sidecarLog(t, c, ev.Metadata.ID, "with-sidecar", "helper")
	if !strings.Contains(helper, "helper up") || !strings.Contains(helper, "stopping sidecar helper") {
		t.Errorf("the sidecar's log lacks its line or the note that it was stopped after the job:\n%s", helper)
	}
}

func sidecarLog(t *testing.T, c *client.Client, eventID, job, container string) string {
	t.Helper()
	lines, errs := c.Logs(t.Context(), eventID, client.LogOptions{Job: job, Container: container})
	var sb strings.Builder
	for l := range lines {
		sb.WriteString(l.Message + "\n")
	}
	if err := <-errs; err != nil {
		t.Fatalf("reading the log of container %s of job %s: %v", container, job, err)
	}
	return sb.String()
}

// TestDockerRunsV1Scripts runs a Brigade v1 script on the docker substrate:
// tasks in the image's shell, a Result passed on, and host.nodeSelector
// recorded and noted once.
func TestDockerRunsV1Scripts(t *testing.T) {
	c := dockerPlatform(t)
	script := `const { events, Job, Group } = require("brigadier");
events.on("exec", (e, p) => {
  const first = new Job("v1-first", "brigade-test/busybox:latest");
  first.tasks = ["echo one", "echo two"];
  first.host.nodeSelector.set("disk", "ssd");
  const second = new Job("v1-second", "brigade-test/busybox:latest");
  Group.runEach([first]).then(results => {
    second.env = { GOT: results[0].toString().trim().split("\n").join(" ") };
    second.tasks = ['echo "second got: $GOT"'];
    return second.run();
  }).then(result => console.log("v1 on docker: " + result.toString().trim()));
});`
	if _, err := c.CreateProject(t.Context(), &core.Project{Metadata: core.ObjectMeta{ID: "v1-docker"}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
		WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
	}}); err != nil {
		t.Fatal(err)
	}
	evs, err := c.CreateEvent(t.Context(), &core.Event{ProjectID: "v1-docker", Source: "brigade.sh/cli", Type: "exec"})
	if err != nil {
		t.Fatal(err)
	}
	id := evs[0].Metadata.ID
	wctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	st, errs := c.WatchWorkerStatus(wctx, id)
	for range st {
	}
	if err := <-errs; err != nil {
		t.Fatalf("watching the worker: %v", err)
	}
	ev, err := c.GetEvent(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	workerLog := logText(t, c, id, "")
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s\n%s", ev.Worker.Status.Phase, workerLog)
	}
	if !strings.Contains(workerLog, "v1 on docker: second got: one two") {
		t.Errorf("worker log:\n%s", workerLog)
	}
	if l := logText(t, c, id, "v1-first"); strings.Count(l, "nodeSelector") != 1 {
		t.Errorf("the first job's log should note the node selector once:\n%s", l)
	}
}
