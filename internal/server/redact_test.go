package server_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// The secret has '+', '/' and '?' in its base64 forms, so that the standard
// and URL alphabets differ, and a length that needs padding.
const leakySecret = "s3cr3t??>>~~value!x"

// echoSecretsScript's jobs run IMAGE.
const echoSecretsScript = `const { events, Job, Container } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const s = event.project.secrets.token;
  console.log("worker sees " + s);
  const j = new Job("echoer", "IMAGE", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c",
    'echo "job: $TOK"; echo "std $B1"; echo "raw $B2"; echo "url $B3"; echo "rawurl $B4"; printf "split "; printf "%s\n" "$TOK"'];
  j.primaryContainer.environment = Object.assign({TOK: s}, JSON.parse(event.payload));
  const side = new Container("IMAGE");
  side.command = ["sh"];
  side.arguments = ["-c", 'echo "sidecar: $TOK"'];
  side.environment = {TOK: s};
  j.sidecarContainers = {side: side};
  await j.run();
  console.log("done");
});
events.process();`

// A worker, a job and a sidecar that print a project secret and its base64
// forms: neither the stored log nor a follower's stream holds any of them,
// on either substrate.
func TestSecretsAreRedactedFromLogs(t *testing.T) {
	t.Run("Local", func(t *testing.T) { testRedaction(t, "local") })
	t.Run("Docker", func(t *testing.T) {
		testenv.NeedDocker(t)
		testRedaction(t, "docker")
	})
}

func testRedaction(t *testing.T, substrate string) {
	dir := t.TempDir()
	if substrate == "docker" {
		testenv.RemoveDockerContainersAtEnd(t, dir) // runs after the server stopped
	}
	rs := startRunning(t, dir, server.Config{Substrate: substrate})
	rs.project(t, "leaky", strings.ReplaceAll(echoSecretsScript, "IMAGE", testenv.DockerImage()), nil)
	if err := rs.c.SetSecret(t.Context(), "leaky", core.Secret{Key: "token", Value: leakySecret}); err != nil {
		t.Fatal(err)
	}
	forms := []string{leakySecret}
	payload := map[string]string{}
	for i, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		f := enc.EncodeToString([]byte(leakySecret))
		forms = append(forms, f)
		payload["B"+string(rune('1'+i))] = f
	}
	if forms[1] == forms[3] || forms[1] == forms[2] {
		t.Fatalf("the test secret's base64 forms do not differ: %v", forms)
	}
	var pl strings.Builder
	pl.WriteString("{")
	for k, v := range payload {
		if pl.Len() > 1 {
			pl.WriteString(",")
		}
		pl.WriteString(`"` + k + `":"` + v + `"`)
	}
	pl.WriteString("}")
	evs, err := rs.c.CreateEvent(t.Context(), &core.Event{ProjectID: "leaky", Source: "brigade.sh/cli", Type: "exec", Payload: pl.String()})
	if err != nil || len(evs) != 1 {
		t.Fatalf("create event: %v", err)
	}
	id := evs[0].Metadata.ID
	// Followers start before the lines are written.
	type followed struct {
		text string
		err  error
	}
	follow := func(opts client.LogOptions) <-chan followed {
		done := make(chan followed, 1)
		opts.Follow = true
		go func() {
			lines, errs := rs.c.Logs(t.Context(), id, opts)
			var sb strings.Builder
			for l := range lines {
				sb.WriteString(l.Message + "\n")
			}
			done <- followed{sb.String(), <-errs}
		}()
		return done
	}
	followers := map[string]<-chan followed{
		"worker (followed)": follow(client.LogOptions{}),
	}
	ev := rs.waitWorker(t, id)
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("worker %s:\n%s", ev.Worker.Status.Phase, rs.logs(t, id, ""))
	}
	followers["job (followed)"] = follow(client.LogOptions{Job: "echoer"})
	logs := map[string]string{
		"worker": rs.logs(t, id, ""), "job": rs.logs(t, id, "echoer"),
	}
	side, errs := rs.c.Logs(t.Context(), id, client.LogOptions{Job: "echoer", Container: "side"})
	var sb strings.Builder
	for l := range side {
		sb.WriteString(l.Message + "\n")
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	logs["sidecar"] = sb.String()
	for name, ch := range followers {
		f := <-ch
		if f.err != nil {
			t.Fatalf("%s: %v", name, f.err)
		}
		logs[name] = f.text
	}
	for name, text := range logs {
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("the %s log holds the secret (%q):\n%s", name, f, text)
			}
		}
	}
	for name, want := range map[string][]string{
		"worker": {"worker sees ***", "done"}, "worker (followed)": {"worker sees ***"},
		"job":     {"job: ***", "std ***", "raw ***", "url ***", "rawurl ***", "split ***"},
		"sidecar": {"sidecar: ***"},
	} {
		for _, w := range want {
			if !strings.Contains(logs[name], w) {
				t.Errorf("the %s log lacks %q:\n%s", name, w, logs[name])
			}
		}
	}
}

// The lines a worker stores itself (its git clone's, in the vcs log) are
// redacted too, with the secrets of the moment: a secret set while the
// event runs is masked from then on.
func TestVCSLogIsRedacted(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("vcs", core.EventSubscription{Source: src, Types: []string{"*"}})
	git := map[string]any{"git": map[string]string{"cloneURL": "https://example.com/repo.git"}}
	id := ts.createEvents(eventBody(src, "push", git))[0].Metadata.ID
	wt := ts.startWorker(id)
	ts.setWorkerPhase(id, core.PhaseRunning)
	path := "/v2/events/" + id + "/logs?container=vcs"
	post := func(after int, line string) {
		ts.expect(http.StatusOK, "POST", path, wt, map[string]any{"apiVersion": core.APIVersion, "kind": "LogLines",
			"after": after, "lines": []map[string]any{{"message": line}}})
	}
	post(0, "cloning https://x:"+leakySecret+"@example.com/repo.git")
	secret := map[string]any{"apiVersion": core.APIVersion, "kind": "Secret", "key": "token", "value": leakySecret}
	ts.expect(http.StatusOK, "PUT", "/v2/projects/vcs/secrets/token", ts.root, secret)
	post(1, "cloning https://x:"+leakySecret+"@example.com/repo.git")
	var got []string
	for _, m := range drain(t, readObjects(ts.openStream(path, nil).Body)) {
		got = append(got, m["message"].(string))
	}
	if len(got) != 2 || !strings.Contains(got[0], leakySecret) || got[1] != "cloning https://x:***@example.com/repo.git" {
		t.Fatalf("vcs log %q: the line written before the secret was set keeps it, the one after must not", got)
	}
}
