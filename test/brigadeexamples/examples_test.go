// Package brigadeexamples_test runs Brigade's own example projects
// (examples/01-hello-world … examples/15-windows of the brigadecore/brigade
// repository), unmodified, against a real server on the local substrate:
// each project.yaml is created with our brig (`brig project create -f`),
// sent an event of a type it subscribes to, and its worker's final phase,
// its jobs and a characteristic line of its logs are checked.
//
// Brigade's files are Brigade's code, so they are not in this repository:
// the test runs only when BRIGADE_EXAMPLES_DIR names the examples folder of
// a Brigade checkout, and skips otherwise. CI has no such checkout (and no
// access to GitHub), so .ci/run does not run it; run it by hand:
//
//	git clone --depth 1 https://github.com/brigadecore/brigade.git /tmp/brigade
//	BRIGADE_EXAMPLES_DIR=/tmp/brigade/examples BRIGADE_TEST_NPM=1 go test -race -count=1 ./test/brigadeexamples -v
//
// What differs from a Brigade cluster, and why:
//
//   - The examples whose source comes from git (06-git, 09-npm, 10-yarn,
//     12-kitchen-sink, 13-dependencies) clone
//     https://github.com/brigadecore/brigade.git at refs/heads/main. The test
//     commits the examples folder it was given into a local repository (at
//     examples/…, so that configFilesDirectory examples/09-npm/.brigade
//     resolves) and redirects that URL to it with git's
//     url.<local>.insteadOf, set through GIT_CONFIG_* variables in the
//     environment of the server, which its workers inherit. So the projects
//     stay unmodified, the test needs no network for git, and the worker
//     checks out the very files under test rather than whatever GitHub's
//     main holds today.
//   - 09-npm, 10-yarn, 12-kitchen-sink and 13-dependencies install their
//     packages from the real npm registry (registry.npmjs.org); they run
//     only with BRIGADE_TEST_NPM=1.
//   - The local substrate runs a job's command as a host process and
//     ignores its image (debian:latest, alpine:latest, centos:latest,
//     ubuntu:latest, a Windows nanoserver): none is pulled, and the job's
//     log says so. The examples' commands (echo, bash, cat) exist on the
//     host.
//   - 15-windows cannot run on the local substrate: its job runs cmd.exe,
//     which a Linux host does not have. The test asserts that it fails with
//     the substrate's message saying so.
package brigadeexamples_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/brigadeplatform/brigade/internal/cli"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// brigadeRepo is the clone URL of the examples that keep their scripts in
// git.
const brigadeRepo = "https://github.com/brigadecore/brigade.git"

// deadline bounds the wait for one example's worker: generous, since the
// examples run side by side on what may be a busy machine and some install
// packages from the internet. It only keeps a broken run from hanging.
const deadline = 5 * time.Minute

// example is what one of Brigade's examples must do on our server.
type example struct {
	dir     string // its folder under examples/
	payload string // the event's payload, as Brigade's docs send it
	git     bool   // its source is cloned from brigadeRepo
	npm     bool   // it installs packages from registry.npmjs.org
	phase   core.WorkerPhase
	jobs    map[string]core.JobPhase // every job, by name
	// worker holds patterns (regular expressions) the worker's log must
	// match; jobLogs the same for a job's primary container.
	worker  []string
	jobLogs map[string][]string
	summary string
	// before lists pairs {a, b}: job a is created before job b (what a
	// script's sequence guarantees).
	before [][2]string
	// randomJobs says the script names its jobs at random: check, not
	// jobs, checks them.
	randomJobs bool
	check      func(t *testing.T, c *client.Client, ev *core.Event) // anything else
}

// notPulled is the line the local substrate writes into the log of a job
// whose image it does not pull.
func notPulled(image string) string {
	return regexp.QuoteMeta(`image "` + image + `" is not pulled`)
}

var examples = []example{
	{dir: "01-hello-world", phase: core.PhaseSucceeded, worker: []string{`(?m)^Hello, World!$`}},
	{dir: "02-first-event", phase: core.PhaseSucceeded, worker: []string{`(?m)^Hello, World!$`}, summary: "All done."},
	{dir: "03-first-job", phase: core.PhaseSucceeded,
		jobs:    map[string]core.JobPhase{"my-first-job": core.PhaseSucceeded},
		worker:  []string{`Creating job my-first-job`},
		jobLogs: map[string][]string{"my-first-job": {`(?m)^My first job!$`, notPulled("debian:latest")}}},
	{dir: "04-simple-pipeline", phase: core.PhaseSucceeded,
		jobs: map[string]core.JobPhase{"my-first-job": core.PhaseSucceeded, "my-second-job": core.PhaseSucceeded},
		jobLogs: map[string][]string{"my-first-job": {`(?m)^My first job!$`},
			"my-second-job": {`(?m)^My second job!$`}},
		before: [][2]string{{"my-first-job", "my-second-job"}}},
	{dir: "05-groups", phase: core.PhaseSucceeded,
		jobs: map[string]core.JobPhase{"my-first-job": core.PhaseSucceeded, "my-second-job": core.PhaseSucceeded,
			"my-a-job": core.PhaseSucceeded, "my-b-job": core.PhaseSucceeded},
		jobLogs: map[string][]string{"my-first-job": {`(?m)^My first job!$`}, "my-second-job": {`(?m)^My second job!$`},
			"my-a-job": {`(?m)^My A job!$`}, "my-b-job": {`(?m)^My B job!$`}},
		// Two sequences side by side; nothing orders one against the other.
		before: [][2]string{{"my-first-job", "my-second-job"}, {"my-a-job", "my-b-job"}}},
	{dir: "06-git", git: true, phase: core.PhaseSucceeded, worker: []string{`(?m)^Hello, Git!$`},
		check: clonedFromBrigadeURL},
	{dir: "07-first-payload", payload: "Dolly", phase: core.PhaseSucceeded,
		worker: []string{`(?m)^Project: first-payload$`, `(?m)^Hello, Dolly!$`}},
	{dir: "08-shared-workspace", phase: core.PhaseSucceeded,
		jobs:    map[string]core.JobPhase{"first-job": core.PhaseSucceeded, "second-job": core.PhaseSucceeded},
		jobLogs: map[string][]string{"second-job": {`(?m)^Hello!$`}},
		before:  [][2]string{{"first-job", "second-job"}}},
	// unique-names-generator makes "adjective-animal".
	{dir: "09-npm", git: true, npm: true, phase: core.PhaseSucceeded,
		worker: []string{`(?m)^Hello, [a-z_]+-[a-z_]+!$`, `installing dependencies from package-lock\.json`}},
	{dir: "10-yarn", git: true, npm: true, phase: core.PhaseSucceeded,
		worker: []string{`(?m)^Hello, [a-z_]+-[a-z_]+!$`, `installing dependencies from yarn\.lock`}},
	{dir: "11-typescript", phase: core.PhaseSucceeded, worker: []string{`(?m)^Hello, TypeScript!$`}},
	// Four jobs named at random; kitchenSinkJobs checks them.
	{dir: "12-kitchen-sink", git: true, npm: true, phase: core.PhaseSucceeded, randomJobs: true,
		check: kitchenSinkJobs},
	// 3.14 * 3 * 3 in JavaScript's numbers.
	{dir: "13-dependencies", git: true, npm: true, phase: core.PhaseSucceeded,
		worker: []string{`(?m)^is 13 thirteen\? true$`, `(?m)^area of a circle with radius 3: 28\.259999999999998$`}},
	{dir: "14-sidecar-container", phase: core.PhaseSucceeded,
		jobs: map[string]core.JobPhase{"my-job": core.PhaseSucceeded},
		worker: []string{`(?m)^Running 'my-job' with the following sidecar containers:$`,
			`(?m)^-> sidecar: debian:latest$`},
		jobLogs: map[string][]string{"my-job": {`(?m)^Hello from the primary container!$`}},
		check: func(t *testing.T, c *client.Client, ev *core.Event) {
			text := logText(t, c, ev.Metadata.ID, client.LogOptions{Job: "my-job", Container: "sidecar"})
			if !strings.Contains(text, "Hello from the sidecar container!\n") {
				t.Errorf("the sidecar's log lacks its greeting:\n%s", text)
			}
		}},
	// A Windows job on a Linux host: our clear failure, not Brigade's
	// success.
	{dir: "15-windows", phase: core.PhaseFailed,
		jobs:   map[string]core.JobPhase{"hello": core.PhaseFailed},
		worker: []string{`Job "hello" failed`},
		jobLogs: map[string][]string{"hello": {
			regexp.QuoteMeta(`local substrate: recorded but not applied to host processes: host.os "windows"`),
			`Windows commands such as cmd\.exe cannot run here`,
			`cannot run "cmd\.exe" in container hello: executable file not found`}}},
}

func TestBrigadeExamples(t *testing.T) {
	dir := os.Getenv("BRIGADE_EXAMPLES_DIR")
	if dir == "" {
		t.Skip("BRIGADE_EXAMPLES_DIR is not set: point it at the examples folder of a Brigade checkout " +
			"(git clone --depth 1 https://github.com/brigadecore/brigade.git /tmp/brigade; " +
			"BRIGADE_EXAMPLES_DIR=/tmp/brigade/examples) to run Brigade's example projects against this server")
	}
	if _, err := os.Stat(filepath.Join(dir, "01-hello-world", "project.yaml")); err != nil {
		t.Fatalf("BRIGADE_EXAMPLES_DIR=%s is not the examples folder of a Brigade checkout: %v", dir, err)
	}
	gitMissing := ""
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("BRIGADE_TEST_GIT") != "" {
			t.Fatalf("BRIGADE_TEST_GIT is set but git is not installed: %v", err)
		}
		gitMissing = "the git program is not installed (set BRIGADE_TEST_GIT=1 to make this a failure)"
	} else {
		redirectBrigadeRepo(t, dir)
	}
	// After redirectBrigadeRepo: the server's workers start from the
	// environment the server was started in.
	srv, _ := testenv.Server(t, server.Config{RootPassword: "brigade-examples", CleanupDelay: time.Hour})
	c, err := testenv.RootClient(t.Context(), srv, "brigade-examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range examples {
		t.Run(ex.dir, func(t *testing.T) {
			switch {
			case ex.git && gitMissing != "":
				t.Skip(gitMissing)
			case ex.npm && os.Getenv("BRIGADE_TEST_NPM") == "":
				t.Skip("installs packages from registry.npmjs.org; set BRIGADE_TEST_NPM=1 to run it")
			}
			t.Parallel()
			runExample(t, c, srv.Addr(), filepath.Join(dir, ex.dir, "project.yaml"), ex)
		})
	}
}

// redirectBrigadeRepo commits the examples folder into a local repository
// at examples/… and makes every git the server's workers run fetch
// brigadeRepo from it (see the package documentation).
func redirectBrigadeRepo(t *testing.T, examplesDir string) {
	t.Helper()
	repo := t.TempDir()
	if err := copyTree(examplesDir, filepath.Join(repo, "examples")); err != nil {
		t.Fatalf("copying %s: %v", examplesDir, err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "Brigade's examples"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "HOME="+repo, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com",
			"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Config from the environment reaches every git the worker runs (it
	// sets its own HOME, so a global config file would not).
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "url.file://"+repo+".insteadOf")
	t.Setenv("GIT_CONFIG_VALUE_0", brigadeRepo)
}

// copyTree copies the regular files and folders under src to dst, leaving
// out node_modules and .git folders: what a clone from GitHub holds.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git"):
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// runExample creates the project from its file with brig, sends it an
// event and checks what ex expects.
func runExample(t *testing.T, c *client.Client, addr, projectFile string, ex example) {
	ctx := t.Context()
	b, err := os.ReadFile(projectFile)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Metadata struct{ ID string }
	}
	if err := yaml.Unmarshal(b, &head); err != nil || head.Metadata.ID == "" {
		t.Fatalf("%s: no metadata.id (%v)", projectFile, err)
	}
	var out, errOut bytes.Buffer
	env := map[string]string{"BRIGADE_SERVER": "http://" + addr, "BRIGADE_TOKEN": c.Token()}
	if code := cli.Run(ctx, cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }},
		[]string{"project", "create", "-f", projectFile}); code != 0 {
		t.Fatalf("brig project create -f %s: exit %d\n%s%s", projectFile, code, out.String(), errOut.String())
	}
	p, err := c.GetProject(ctx, head.Metadata.ID)
	if err != nil {
		t.Fatal(err)
	}
	subs := p.Spec.EventSubscriptions
	if len(subs) == 0 || len(subs[0].Types) == 0 {
		t.Fatalf("project %s subscribes to no event type", p.Metadata.ID)
	}
	evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: p.Metadata.ID, Source: subs[0].Source, Type: subs[0].Types[0],
		Payload: ex.payload})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating a %s %s event: %v (%d events)", subs[0].Source, subs[0].Types[0], err, len(evs))
	}
	ev := waitForWorker(t, c, evs[0].Metadata.ID)
	workerLog := logText(t, c, ev.Metadata.ID, client.LogOptions{})
	t.Logf("worker %s; its log:\n%s", ev.Worker.Status.Phase, workerLog)
	if ev.Worker.Status.Phase != ex.phase {
		vcs := ""
		if ex.git {
			vcs = "\nvcs log:\n" + logText(t, c, ev.Metadata.ID, client.LogOptions{Container: "vcs"})
		}
		t.Fatalf("worker %s, want %s\nworker log:\n%s%s", ev.Worker.Status.Phase, ex.phase, workerLog, vcs)
	}
	for _, want := range ex.worker {
		if !regexp.MustCompile(want).MatchString(workerLog) {
			t.Errorf("worker log does not match %q:\n%s", want, workerLog)
		}
	}
	if !ex.randomJobs {
		checkJobs(t, ev, ex.jobs, ex.before, workerLog)
	}
	for job, wants := range ex.jobLogs {
		text := logText(t, c, ev.Metadata.ID, client.LogOptions{Job: job})
		t.Logf("log of job %s:\n%s", job, text)
		for _, want := range wants {
			if !regexp.MustCompile(want).MatchString(text) {
				t.Errorf("log of job %s does not match %q:\n%s", job, want, text)
			}
		}
	}
	if ev.Summary != ex.summary {
		t.Errorf("summary %q, want %q", ev.Summary, ex.summary)
	}
	if ex.check != nil {
		ex.check(t, c, ev)
	}
}

// waitForWorker follows the event's worker to a final phase and returns the
// event then.
func waitForWorker(t *testing.T, c *client.Client, id string) *core.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	statuses, errs := c.WatchWorkerStatus(ctx, id)
	for range statuses {
	}
	if err := <-errs; err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the worker of event %s did not finish within %v", id, deadline)
		}
		t.Fatalf("watching the worker of event %s: %v", id, err)
	}
	ev, err := c.GetEvent(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Worker.Status.Phase.IsTerminal() {
		t.Fatalf("the watch of event %s ended with the worker %s", id, ev.Worker.Status.Phase)
	}
	return ev
}

// checkJobs checks that the event ran exactly the jobs wanted, in their
// phases, each pair of before created in its order.
func checkJobs(t *testing.T, ev *core.Event, want map[string]core.JobPhase, before [][2]string, workerLog string) {
	t.Helper()
	got := map[string]core.JobPhase{}
	at := map[string]int{}
	for i, j := range ev.Worker.Jobs {
		if j.Status != nil {
			got[j.Name] = j.Status.Phase
		}
		at[j.Name] = i
	}
	if len(ev.Worker.Jobs) != len(want) {
		t.Fatalf("jobs %v, want %v\nworker log:\n%s", got, want, workerLog)
	}
	for name, phase := range want {
		if got[name] != phase {
			t.Errorf("job %s %s, want %s", name, got[name], phase)
		}
	}
	for _, p := range before {
		if at[p[0]] > at[p[1]] {
			t.Errorf("job %s was created after %s; the script runs them in sequence", p[0], p[1])
		}
	}
}

func logText(t *testing.T, c *client.Client, eventID string, opts client.LogOptions) string {
	t.Helper()
	lines, errs := c.Logs(t.Context(), eventID, opts)
	var sb strings.Builder
	for l := range lines {
		sb.WriteString(l.Message + "\n")
	}
	if err := <-errs; err != nil {
		t.Fatalf("reading the log %+v: %v", opts, err)
	}
	return sb.String()
}

// clonedFromBrigadeURL checks that the worker cloned the project's URL as
// given (git itself fetched from the local copy).
func clonedFromBrigadeURL(t *testing.T, c *client.Client, ev *core.Event) {
	text := logText(t, c, ev.Metadata.ID, client.LogOptions{Container: "vcs"})
	if !strings.Contains(text, "cloning "+brigadeRepo) {
		t.Errorf("the vcs log does not say it cloned %s:\n%s", brigadeRepo, text)
	}
}

// kitchenSinkJobs checks 12-kitchen-sink's four jobs: named at random by
// unique-names-generator, two sequences side by side, each job greeting
// itself by name.
func kitchenSinkJobs(t *testing.T, c *client.Client, ev *core.Event) {
	jobs := ev.Worker.Jobs
	if len(jobs) != 4 {
		t.Fatalf("%d jobs, want 4: %+v", len(jobs), jobs)
	}
	for _, j := range jobs {
		if j.Status == nil || j.Status.Phase != core.PhaseSucceeded {
			t.Errorf("job %s: %+v, want SUCCEEDED", j.Name, j.Status)
		}
		text := logText(t, c, ev.Metadata.ID, client.LogOptions{Job: j.Name})
		if !strings.Contains(text, "\nHello, "+j.Name+"!\n") && !strings.HasPrefix(text, "Hello, "+j.Name+"!\n") {
			t.Errorf("log of job %s lacks its greeting:\n%s", j.Name, text)
		}
		if !strings.Contains(text, `image "`) {
			t.Errorf("log of job %s does not say its image is not pulled:\n%s", j.Name, text)
		}
	}
}
