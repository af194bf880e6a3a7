package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/npm/npmtest"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// greeterRegistry publishes greeter (two versions, needing shout) and
// shout, behind a token.
func greeterRegistry(t *testing.T) *npmtest.Registry {
	reg := npmtest.New(t)
	reg.Token = "registry-token"
	greeter := func(v string) npmtest.Package {
		return npmtest.Package{Name: "greeter", Version: v, Deps: map[string]string{"shout": "^1.0.0"},
			Files: map[string]string{"index.js": `const shout = require("shout");
module.exports = (who) => shout("hello " + who) + " from greeter " + require("./package.json").version;
`}}
	}
	reg.Publish(greeter("1.0.0"), greeter("1.1.0"),
		npmtest.Package{Name: "shout", Version: "1.0.0", Files: map[string]string{"index.js": "module.exports = (s) => s.toUpperCase();\n"}})
	return reg
}

// TestScriptRequiresInstalledPackage runs events through a real server on
// the local substrate whose scripts require a package that only the
// test's registry has: with a lockfile and without one. The second event
// of a project installs from the project's cache.
func TestScriptRequiresInstalledPackage(t *testing.T) {
	reg := greeterRegistry(t)
	srv, _ := testenv.Server(t, server.Config{RootPassword: "npm-e2e-password", CleanupDelay: time.Hour})
	c, err := testenv.RootClient(t.Context(), srv, "npm-e2e-password")
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(reg.URL, "http:")
	files := map[string]string{
		"brigade.js": `const greet = require("greeter");
console.log("greeting: " + greet("npm"));
`,
		// The token comes from the project's secret NPM_TOKEN.
		".npmrc":       "registry=" + reg.URL + "\n" + host + ":_authToken=${NPM_TOKEN}\n",
		"package.json": `{"dependencies": {"@brigadecore/brigadier": "^2.5.0", "greeter": "^1.0.0"}}`,
	}
	locked := map[string]string{"package-lock.json": reg.LockV3(map[string]string{"greeter": "^1.0.0"},
		map[string]string{"node_modules/greeter": "greeter@1.0.0", "node_modules/shout": "shout@1.0.0"})}
	for _, tc := range []struct {
		project, want, how string
		extra              map[string]string
	}{
		{"npm-locked", "greeting: HELLO NPM from greeter 1.0.0", "installing dependencies from package-lock.json", locked},
		{"npm-resolved", "greeting: HELLO NPM from greeter 1.1.0", "resolving the dependencies of package.json", nil},
	} {
		t.Run(tc.project, func(t *testing.T) {
			p := &core.Project{Metadata: core.ObjectMeta{ID: tc.project}, Spec: core.ProjectSpec{
				EventSubscriptions: cliExec, WorkerTemplate: core.WorkerSpec{DefaultConfigFiles: map[string]string{}}}}
			for k, v := range files {
				p.Spec.WorkerTemplate.DefaultConfigFiles[k] = v
			}
			for k, v := range tc.extra {
				p.Spec.WorkerTemplate.DefaultConfigFiles[k] = v
			}
			if _, err := c.CreateProject(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			if err := c.SetSecret(t.Context(), tc.project, core.Secret{Key: "NPM_TOKEN", Value: reg.Token}); err != nil {
				t.Fatal(err)
			}
			before := reg.Downloads()
			first := runEvent(t, c, tc.project)
			for _, want := range []string{tc.want, tc.how, "installed 2 packages (0 from cache, 2 downloaded)"} {
				t.Log(first)
				if !strings.Contains(first, want) {
					t.Errorf("first worker log lacks %q:\n%s", want, first)
				}
			}
			second := runEvent(t, c, tc.project)
			for _, want := range []string{tc.want, "installed 2 packages (2 from cache, 0 downloaded)"} {
				if !strings.Contains(second, want) {
					t.Errorf("second worker log lacks %q:\n%s", want, second)
				}
			}
			if n := reg.Downloads() - before; n != 2 {
				t.Errorf("%d tarball downloads for two events, want 2 (none the second time)", n)
			}
		})
	}
}

// TestInstallFailureFailsWorker: a package that is not in the registry
// fails the worker before the script runs, and the log says which.
func TestInstallFailureFailsWorker(t *testing.T) {
	reg := greeterRegistry(t)
	srv, _ := testenv.Server(t, server.Config{RootPassword: "npm-e2e-password", CleanupDelay: time.Hour})
	c, err := testenv.RootClient(t.Context(), srv, "npm-e2e-password")
	if err != nil {
		t.Fatal(err)
	}
	p := &core.Project{Metadata: core.ObjectMeta{ID: "npm-missing"}, Spec: core.ProjectSpec{
		EventSubscriptions: cliExec, WorkerTemplate: core.WorkerSpec{DefaultConfigFiles: map[string]string{
			"brigade.js":   `console.log("the script ran");`,
			".npmrc":       "registry=" + reg.URL + "\n" + strings.TrimPrefix(reg.URL, "http:") + ":_authToken=registry-token\n",
			"package.json": `{"dependencies": {"no-such-package": "^1.0.0"}}`,
		}}}}
	if _, err := c.CreateProject(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	log := runEvent(t, c, "npm-missing")
	if !strings.Contains(log, "ERROR: installing the dependencies of package.json: package no-such-package is not in the registry") ||
		strings.Contains(log, "the script ran") {
		t.Errorf("worker log:\n%s", log)
	}
}

// cliExec subscribes a project to the events runEvent sends.
var cliExec = []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}}

// runEvent sends the project an event, waits for its worker to finish
// and returns the worker's log.
func runEvent(t *testing.T, c *client.Client, project string) string {
	t.Helper()
	evs, err := c.CreateEvent(t.Context(), &core.Event{ProjectID: project, Source: "brigade.sh/cli", Type: "exec"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating the event: %v (%d events)", err, len(evs))
	}
	id := evs[0].Metadata.ID
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // only keeps a broken run from hanging
	defer cancel()
	statuses, errs := c.WatchWorkerStatus(ctx, id)
	for range statuses {
	}
	if err := <-errs; err != nil {
		t.Fatalf("watching the worker: %v", err)
	}
	lines, lerrs := c.Logs(t.Context(), id, client.LogOptions{})
	var sb strings.Builder
	for l := range lines {
		sb.WriteString(l.Message + "\n")
	}
	if err := <-lerrs; err != nil {
		t.Fatalf("reading the worker log: %v", err)
	}
	return sb.String()
}
