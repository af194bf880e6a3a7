package examples_test

import (
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// TestCustomWorkerShellExample runs examples/custom-worker-shell: a worker
// image whose POSIX shell script creates a job through the API.
func TestCustomWorkerShellExample(t *testing.T) {
	testenv.BuildDockerImage(t, "brigade-test/custom-worker-shell:latest", "custom-worker-shell")
	c := dockerPlatform(t)
	ev := runExample(t, c, "custom-worker-shell", "", nil)
	workerLog := logText(t, c, ev.Metadata.ID, "")
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s, want SUCCEEDED\nworker log:\n%s", ev.Worker.Status.Phase, workerLog)
	}
	for _, want := range []string{
		"shell worker: event " + ev.Metadata.ID + " (brigade.sh/cli exec) of project custom-worker-shell",
		"shell worker: job greet ended SUCCEEDED; its log:",
		"  Hello from a job that a shell worker created",
	} {
		if !strings.Contains(workerLog, want) {
			t.Errorf("worker log lacks %q:\n%s", want, workerLog)
		}
	}
	if len(ev.Worker.Jobs) != 1 || ev.Worker.Jobs[0].Name != "greet" || ev.Worker.Jobs[0].Status.Phase != core.PhaseSucceeded {
		t.Fatalf("jobs %+v; want greet SUCCEEDED", ev.Worker.Jobs)
	}
	if text := logText(t, c, ev.Metadata.ID, "greet"); !strings.Contains(text, "Hello from a job that a shell worker created") {
		t.Errorf("the job's log:\n%s", text)
	}
}

// TestCustomWorkerStepsExample runs examples/custom-worker-steps: steps
// declared in the project, run as jobs, in order, by a worker image.
func TestCustomWorkerStepsExample(t *testing.T) {
	testenv.BuildDockerImage(t, "brigade-test/custom-worker-steps:latest", "custom-worker-steps")
	c := dockerPlatform(t)
	ev := runExample(t, c, "custom-worker-steps", "", nil)
	workerLog := logText(t, c, ev.Metadata.ID, "")
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s, want SUCCEEDED\nworker log:\n%s", ev.Worker.Status.Phase, workerLog)
	}
	for _, want := range []string{"steps worker: step 1: build", "  build done", "steps worker: step 2: test",
		"  test found the build's artifact", "steps worker: all 2 steps succeeded"} {
		if !strings.Contains(workerLog, want) {
			t.Errorf("worker log lacks %q:\n%s", want, workerLog)
		}
	}
	var order []string
	for _, j := range ev.Worker.Jobs {
		order = append(order, j.Name)
		if j.Status == nil || j.Status.Phase != core.PhaseSucceeded {
			t.Errorf("job %s ended %+v; want SUCCEEDED", j.Name, j.Status)
		}
	}
	if strings.Join(order, " ") != "build test" {
		t.Errorf("jobs %v; want build, then test", order)
	}
}
