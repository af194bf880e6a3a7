package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// TestFollowSaysWhyContainersFailed runs jobs in containers: one exits 3
// and one's image cannot be pulled; the follow's summary says so in words. Without Docker it skips (fails with
// BRIGADE_TEST_DOCKER=1, as in CI).
func TestFollowSaysWhyContainersFailed(t *testing.T) {
	testenv.NeedDocker(t)
	dataDir := t.TempDir()
	testenv.RemoveDockerContainersAtEnd(t, dataDir)
	srv, _ := testenv.Server(t, server.Config{DataDir: dataDir, RootPassword: testRootPassword,
		CleanupDelay: time.Hour, Substrate: "docker"})
	addr := "http://" + srv.Addr()
	tok, err := client.New(addr, "").CreateRootSession(t.Context(), testRootPassword)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := map[string]string{envConfig: filepath.Join(dir, "config"), envServer: addr, envToken: tok.Value}
	project := filepath.Join(dir, "project.yaml")
	script := `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const exits = new Job("exits", "` + testenv.DockerImage() + `", event);
  exits.primaryContainer.command = ["sh", "-c", "echo exiting; exit 3"];
  exits.fallible = true;
  await exits.run();
  // A registry nobody listens on: the pull fails at once, with no network.
  const missing = new Job("missing", "127.0.0.1:1/not-there:nope", event);
  await missing.run();
});
events.process();
`
	if err := os.WriteFile(project, []byte("metadata:\n  id: in-docker\nspec:\n  eventSubscriptions:\n"+
		"  - source: brigade.sh/cli\n    types: [exec]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	scriptFile := filepath.Join(dir, "brigade.js")
	if err := os.WriteFile(scriptFile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	brig(t, env, "", "project", "create", "-f", project)
	out, errOut, code := run(t, env, "", "exec", "in-docker", "-f", scriptFile)
	if code != 1 || !strings.Contains(out, "[exits] exiting") ||
		!regexp.MustCompile(`(?m)^  exits +FAILED +\S+ +non-zero exit code 3$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^  missing +FAILED +\S+ +.*cannot pull image "127.0.0.1:1/not-there:nope".*$`).MatchString(out) ||
		!strings.Contains(errOut, "job missing: ") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
