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
// shape of its timing: the 20 countdowns of the Group end together (their
// ends spread over less than half the long countdown's run) and all of them
// end before the long sequential countdown. TICK shortens every count to
// 50 ms, so the long countdown runs at least 10 s.
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
		"the 20 parallel countdowns are done", "the long countdown is done", " SUCCEEDED.\n"} {
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
		if j.Status.Phase != core.PhaseSucceeded {
			t.Errorf("job %s %s", j.Name, j.Status.Phase)
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
	var firstEnd, lastStart, lastEnd time.Time // of the parallel countdowns
	for _, j := range parallel {
		if firstEnd.IsZero() || j.Status.Ended.Before(firstEnd) {
			firstEnd = *j.Status.Ended
		}
		if j.Status.Started.After(lastStart) {
			lastStart = *j.Status.Started
		}
		if j.Status.Ended.After(lastEnd) {
			lastEnd = *j.Status.Ended
		}
	}
	longRun := long.Status.Ended.Sub(*long.Status.Started)
	spread := lastEnd.Sub(firstEnd)
	t.Logf("parallel countdowns: last start %s after the first end (negative: overlap), ends spread over %s; "+
		"long countdown ran %s and ended %s after the last parallel one", lastStart.Sub(firstEnd), spread, longRun,
		long.Status.Ended.Sub(lastEnd))
	if spread >= longRun/2 {
		t.Errorf("the parallel countdowns did not end together: their ends spread over %s, the long one ran %s", spread, longRun)
	}
	if !lastEnd.Before(*long.Status.Ended) {
		t.Errorf("a parallel countdown ended %s after the long one", lastEnd.Sub(*long.Status.Ended))
	}
}
