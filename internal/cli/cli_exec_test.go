package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// TestMain lets this test binary run workers for the local substrate.
func TestMain(m *testing.M) { testenv.Main(m) }

// startRunningServer runs the real server on the local substrate (events
// run: workers and jobs are host processes) and returns its address and a
// root token.
func startRunningServer(t *testing.T) (string, string) {
	t.Helper()
	srv, _ := testenv.Server(t, server.Config{RootPassword: testRootPassword, CleanupDelay: time.Hour})
	addr := "http://" + srv.Addr()
	tok, err := client.New(addr, "").CreateRootSession(t.Context(), testRootPassword)
	if err != nil {
		t.Fatal(err)
	}
	return addr, tok.Value
}

const passingScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  console.log("payload:", event.payload);
  const j = new Job("hello", "debian:12-slim", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "echo hello from the job; echo second line"];
  await j.run();
  const k = new Job("bye", "debian:12-slim", event);
  k.primaryContainer.command = ["echo", "goodbye"];
  await k.run();
});
events.process();
`

const failingScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("broken", "debian:12-slim", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "echo about to fail; exit 3"];
  await j.run();
});
events.process();
`

func TestExec(t *testing.T) {
	addr, token := startRunningServer(t)
	dir := t.TempDir()
	env := map[string]string{envConfig: filepath.Join(dir, "config"), envServer: addr, envToken: token}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	project := write("project.yaml", `metadata:
  id: exec-demo
spec:
  eventSubscriptions:
  - source: brigade.sh/cli
    types: [exec]
  workerTemplate:
    defaultConfigFiles:
      brigade.js: console.log("the project's own script")
`)
	brig(t, env, "", "project", "create", "-f", project)
	passing, failing := write("passing.js", passingScript), write("failing.js", failingScript)

	t.Run("PassingScriptExitsZeroWithEveryJobsOutput", func(t *testing.T) {
		out := brig(t, env, "", "exec", "-p", "exec-demo", "-f", passing, "--payload", "hi there")
		for _, want := range []string{
			"Created event ", "[worker] payload: hi there", "[hello] hello from the job", "[hello] second line",
			"[bye] goodbye", " SUCCEEDED after ",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		for _, job := range []string{"hello", "bye"} {
			if !regexp.MustCompile(`(?m)^  ` + job + ` +SUCCEEDED +\S+ +exit code 0$`).MatchString(out) {
				t.Errorf("no summary row of job %s:\n%s", job, out)
			}
		}
		if strings.Contains(out, "the project's own script") {
			t.Errorf("the project's script ran:\n%s", out)
		}
		// The project still has its own script.
		if got := brig(t, env, "", "project", "get", "exec-demo", "-o", "yaml"); !strings.Contains(got, "the project's own script") ||
			strings.Contains(got, "hello from the job") {
			t.Errorf("project changed:\n%s", got)
		}
	})
	t.Run("FailingScriptExitsOne", func(t *testing.T) {
		out, errOut, code := run(t, env, "", "run", "exec-demo", "--file", failing)
		if code != 1 || !strings.Contains(out, "[broken] about to fail") || !strings.Contains(out, " FAILED after ") ||
			!regexp.MustCompile(`(?m)^  broken +FAILED +\S+ +non-zero exit code 3$`).MatchString(out) ||
			!strings.Contains(errOut, " FAILED: job broken: non-zero exit code 3;") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
	})
	t.Run("WithoutAFileTheProjectsScriptRuns", func(t *testing.T) {
		out := brig(t, env, "", "exec", "exec-demo")
		if !strings.Contains(out, "[worker] the project's own script") {
			t.Fatalf("output:\n%s", out)
		}
	})
	t.Run("TypeScriptAndConfig", func(t *testing.T) {
		ts := write("build.ts", `const msg: string = "typescript ran";
console.log(msg);
`)
		cfg := write("brigade.json", `{"dependencies": {}}`)
		out, errOut, code := run(t, env, "", "exec", "exec-demo", "-f", ts, "-c", cfg)
		if code != 0 || !strings.Contains(out, "[worker] typescript ran") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
	})
	t.Run("LevelHidesWorkerLines", func(t *testing.T) {
		if out := brig(t, env, "", "exec", "exec-demo", "-f", passing); !strings.Contains(out, "INFO: brigade-worker version") {
			t.Fatalf("no INFO line by default:\n%s", out)
		}
		out := brig(t, env, "", "exec", "exec-demo", "-f", passing, "--level", "error")
		if strings.Contains(out, "INFO: ") || !strings.Contains(out, "[hello] hello from the job") {
			t.Fatalf("--level error:\n%s", out)
		}
	})
	t.Run("V1JobLinesAreTrueAndObeyTheLevel", func(t *testing.T) {
		v1 := write("v1.js", `const { events, Job } = require("brigadier");
events.on("exec", async () => {
  const j = new Job("v1-hello", "alpine:3.12");
  j.tasks = ["echo hello from v1"];
  await j.run();
});
`)
		out := brig(t, env, "", "exec", "exec-demo", "-f", v1)
		for _, want := range []string{"INFO: job v1-hello created", "INFO: job v1-hello started (RUNNING)",
			"INFO: job v1-hello succeeded (SUCCEEDED)", "[v1-hello] hello from v1"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		for _, invented := range []string{"[brigade:k8s]", "Pod", "pod ", "phase Pending", "phase Running"} {
			if strings.Contains(out, invented) {
				t.Errorf("output has %q, which this substrate never did:\n%s", invented, out)
			}
		}
		out = brig(t, env, "", "exec", "exec-demo", "-f", v1, "-l", "warn")
		if strings.Contains(out, "INFO: ") || strings.Contains(out, "job v1-hello created") || !strings.Contains(out, "[v1-hello] hello from v1") {
			t.Fatalf("-l warn:\n%s", out)
		}
	})
	t.Run("BackgroundDoesNotFollow", func(t *testing.T) {
		out := brig(t, env, "", "exec", "exec-demo", "-f", passing, "--background")
		if !strings.Contains(out, "brig event logs ") || strings.Contains(out, "[hello]") {
			t.Fatalf("output:\n%s", out)
		}
		id := eventID(t, strings.SplitAfter(out, "\n")[0])
		c := client.New(addr, token)
		statuses, errs := c.WatchWorkerStatus(t.Context(), id)
		var last core.WorkerStatus
		for st := range statuses {
			last = st
		}
		if err := <-errs; err != nil || last.Phase != core.PhaseSucceeded {
			t.Fatalf("background event ended %s (%v)", last.Phase, err)
		}
	})
	t.Run("UnsubscribedEvent", func(t *testing.T) {
		stderr := brigFails(t, env, "", "exec", "exec-demo", "-f", passing, "-e", "push")
		if !strings.Contains(stderr, "does not subscribe") || !strings.Contains(stderr, "-e/--event") {
			t.Fatalf("stderr %q", stderr)
		}
	})
	t.Run("MissingScript", func(t *testing.T) {
		stderr := brigFails(t, env, "", "exec", "exec-demo", "-f", filepath.Join(dir, "nope.js"))
		if !strings.Contains(stderr, "nope.js") {
			t.Fatalf("stderr %q", stderr)
		}
	})
}
