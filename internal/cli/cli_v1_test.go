package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/brigadeplatform/brigade/examples"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// TestExecParallelCountdown runs Brigade v1's parallel countdown
// (examples/v1-parallel-countdown) through `brig exec -f` and checks the
// shape of the run, not its speed: every job succeeded, and the 20
// countdowns of the Group ran side by side (runAll starts them all at once
// and the server runs up to 32 jobs at a time), which their statuses'
// start and end times show whatever the machine's load. TICK shortens
// every count to 50 ms.
func TestExecParallelCountdown(t *testing.T) {
	addr, token := startRunningServer(t)
	dir := t.TempDir()
	env := map[string]string{envConfig: filepath.Join(dir, "config"), envServer: addr, envToken: token}

	b, err := examples.FS.ReadFile("v1-parallel-countdown/project.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p core.Project
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	p.Spec.WorkerTemplate.Container.Environment["TICK"] = "0.05"
	pb, _ := yaml.Marshal(&p)
	projectFile := filepath.Join(dir, "project.yaml")
	script, err := examples.FS.ReadFile("v1-parallel-countdown/brigade.js")
	if err != nil {
		t.Fatal(err)
	}
	scriptFile := filepath.Join(dir, "brigade.js")
	os.WriteFile(projectFile, pb, 0o644)
	os.WriteFile(scriptFile, script, 0o644)
	brig(t, env, "", "project", "create", "-f", projectFile)

	out := brig(t, env, "", "exec", "v1-parallel-countdown", "-f", scriptFile)
	for _, want := range []string{"[countdown-7] countdown 7: 1", "[countdown-long] long countdown: 1",
		"the 20 parallel countdowns are done", "the long countdown is done", " SUCCEEDED after "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	c := client.New(addr, token)
	list, err := c.ListEvents(t.Context(), &client.EventSelector{ProjectID: "v1-parallel-countdown"}, nil)
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("events: %v", err)
	}
	ev := list.Items[0]
	var long core.Job
	var parallel []core.Job
	for _, j := range ev.Worker.Jobs {
		if j.Status == nil || j.Status.Phase != core.PhaseSucceeded {
			t.Fatalf("job %s ended %+v, want SUCCEEDED", j.Name, j.Status)
		}
		if j.Name == "countdown-long" {
			long = j
		} else {
			parallel = append(parallel, j)
		}
	}
	if len(parallel) != 20 || long.Status == nil {
		t.Fatalf("%d parallel jobs, long job %v", len(parallel), long.Status)
	}
	for _, j := range append([]core.Job{long}, parallel...) {
		if j.Status.Started == nil || j.Status.Ended == nil {
			t.Fatalf("job %s lacks its start or end time: %+v", j.Name, j.Status)
		}
	}
	// Ran side by side: each countdown started before another one ended
	// (had they run one after another, the last would have started after
	// every other one ended). No durations are compared: a loaded machine
	// stretches them all.
	for _, a := range parallel {
		var beside []string
		for _, b := range parallel {
			if b.Name != a.Name && !a.Status.Started.After(*b.Status.Ended) && !b.Status.Started.After(*a.Status.Ended) {
				beside = append(beside, b.Name)
			}
		}
		if len(beside) == 0 {
			t.Errorf("%s ran from %s to %s, while no other parallel countdown ran", a.Name,
				a.Status.Started.Format(time.RFC3339Nano), a.Status.Ended.Format(time.RFC3339Nano))
		}
	}
	if t.Failed() {
		for _, j := range append([]core.Job{long}, parallel...) {
			t.Logf("%-15s %s .. %s", j.Name, j.Status.Started.Format(time.RFC3339Nano), j.Status.Ended.Format(time.RFC3339Nano))
		}
	}
}
