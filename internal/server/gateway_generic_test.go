package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
	"github.com/brigadeplatform/brigade/internal/gateway/generic"
	"github.com/brigadeplatform/brigade/internal/server"
)

const (
	genericSecret = "the-hooks-secret-0123456789"
	genericLimit  = 4096
	ceSource      = "https://example.com/builds"
	ceType        = "com.example.build.done"
)

// genericReply is the body of a generic webhook answer.
type genericReply struct {
	Status   string   `json:"status"`
	EventIDs []string `json:"eventIDs"`
	Replayed bool     `json:"replayed"`
}

// hookPost posts body to a generic webhook path of base.
func hookPost(t *testing.T, base, path, body string, header ...string) (reply, genericReply) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out genericReply
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("POST %s: %d with content type %q: %s", path, resp.StatusCode, ct, b)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST %s: %d %s: %v", path, resp.StatusCode, b, err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, out
}

func (ts *testServer) setSecret(project, key, value string) {
	ts.t.Helper()
	ts.expect(http.StatusOK, "PUT", "/v2/projects/"+project+"/secrets/"+key, ts.root,
		map[string]any{"apiVersion": core.APIVersion, "kind": "Secret", "key": key, "value": value})
}

// genericEvents lists the events of the generic gateway's source for a
// project.
func (ts *testServer) genericEvents(project string) []core.Event {
	ts.t.Helper()
	var list struct{ Items []core.Event }
	ts.expect(http.StatusOK, "GET", "/v2/events?source="+core.GenericGatewaySource+"&projectID="+project, ts.root, nil).into(ts.t, &list)
	return list.Items
}

func genericSubscriptions() []core.EventSubscription {
	return []core.EventSubscription{
		{Source: core.GenericGatewaySource, Types: []string{"simpleevent"}},
		{Source: core.GenericGatewaySource, Types: []string{"cloudevent"}, Qualifiers: map[string]string{"source": ceSource, "type": ceType}},
	}
}

func cloudEvent02(extra string) string {
	return `{"specversion":"0.2","id":"A234-1234-1234","type":"` + ceType + `","source":"` + ceSource + `"` + extra + `}`
}

// TestGenericGateway: Brigade v1's generic webhook paths, mounted on a real
// server, answered as Brigade v1 did, with the events created before the
// answer.
func TestGenericGateway(t *testing.T) {
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) { c.Gateways.Generic.MaxBodyBytes = genericLimit })
	ts.createProject("hooks", genericSubscriptions()...)
	ts.setSecret("hooks", core.GenericGatewaySecretKey, genericSecret)
	ts.createProject("no-secret", genericSubscriptions()...)
	ts.createProject("deaf")
	ts.setSecret("deaf", core.GenericGatewaySecretKey, genericSecret)
	simple := "/simpleevents/v1/hooks/" + genericSecret
	cloud := "/cloudevents/v02/hooks/" + genericSecret

	// event reads the one event a reply names.
	event := func(t *testing.T, r reply, out genericReply) core.Event {
		t.Helper()
		if r.Status != http.StatusOK || len(out.EventIDs) != 1 {
			t.Fatalf("got %d %s, want 200 with one event", r.Status, r.Body)
		}
		return ts.getEvent(out.EventIDs[0])
	}

	t.Run("UnknownProject", func(t *testing.T) {
		for _, p := range []string{"/simpleevents/v1/nobody/x", "/cloudevents/v02/nobody/x",
			"/simpleevents/v1/Not_An_ID/x", "/simpleevents/v1/hooks%2F..%2F..%2Fv2/x"} {
			r, out := hookPost(t, ts.url, p, "{}")
			if r.Status != http.StatusBadRequest || out.Status != "project not found" {
				t.Fatalf("%s: %d %s", p, r.Status, r.Body)
			}
		}
	})
	t.Run("WrongOrNoSecret", func(t *testing.T) {
		for _, p := range []string{"simpleevents/v1", "cloudevents/v02"} {
			r, out := hookPost(t, ts.url, "/"+p+"/hooks/"+genericSecret+"x", cloudEvent02(""))
			if r.Status != http.StatusUnauthorized || out.Status != "secret is wrong" {
				t.Fatalf("%s, wrong secret: %d %s", p, r.Status, r.Body)
			}
			r, out = hookPost(t, ts.url, "/"+p+"/no-secret/"+genericSecret, cloudEvent02(""))
			if r.Status != http.StatusUnauthorized || !strings.Contains(out.Status, "empty") {
				t.Fatalf("%s, project without a secret: %d %s", p, r.Status, r.Body)
			}
		}
		// Values no one could have set are wrong too (not an API failure).
		for _, secret := range []string{strings.Repeat("s", 2000), "%FF%FE"} {
			if r, _ := hookPost(t, ts.url, "/simpleevents/v1/hooks/"+secret, ""); r.Status != http.StatusUnauthorized {
				t.Fatalf("secret %.20s: %d %s", secret, r.Status, r.Body)
			}
		}
		// Authentication comes before parsing.
		if r, _ := hookPost(t, ts.url, "/simpleevents/v1/hooks/wrong", "not json"); r.Status != http.StatusUnauthorized {
			t.Fatalf("bad secret and bad JSON: %d %s", r.Status, r.Body)
		}
		if n := len(ts.genericEvents("hooks")) + len(ts.genericEvents("no-secret")); n != 0 {
			t.Fatalf("%d events were created", n)
		}
	})
	t.Run("SimpleEvents", func(t *testing.T) {
		for _, c := range []struct {
			name, body string
			git        *core.GitDetails
		}{
			{"EmptyBody", "", nil},
			{"EmptyObject", "{}", nil},
			{"RefAndCommit", `{"ref":"refs/heads/dev","commit":"0123456789abcdef0123"}`,
				&core.GitDetails{Ref: "refs/heads/dev", Commit: "0123456789abcdef0123"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r, out := hookPost(t, ts.url, simple, c.body)
				ev := event(t, r, out)
				if out.Status != "Success. Build created" || out.Replayed {
					t.Fatalf("reply %s", r.Body)
				}
				if ev.ProjectID != "hooks" || ev.Source != core.GenericGatewaySource || ev.Type != "simpleevent" ||
					ev.Payload != c.body || len(ev.Qualifiers) != 0 {
					t.Fatalf("event %+v", ev)
				}
				if (ev.Git == nil) != (c.git == nil) || (c.git != nil && (ev.Git.Ref != c.git.Ref || ev.Git.Commit != c.git.Commit)) {
					t.Fatalf("git %+v, want %+v (no ref made up)", ev.Git, c.git)
				}
			})
		}
		for _, body := range []string{"{", "[]", `{"ref":1}`} {
			r, out := hookPost(t, ts.url, simple, body)
			if r.Status != http.StatusBadRequest || !strings.HasPrefix(out.Status, "Malformed POST data - Invalid JSON") {
				t.Fatalf("body %s: %d %s", body, r.Status, r.Body)
			}
		}
		// A commit the API refuses is the sender's to fix: 422 with why.
		r, out := hookPost(t, ts.url, simple, `{"commit":"not-a-commit"}`)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(out.Status, "refused") {
			t.Fatalf("bad commit: %d %s", r.Status, r.Body)
		}
	})
	t.Run("CloudEvents02", func(t *testing.T) {
		body := cloudEvent02(`,"data":{"ref":"refs/tags/v1.2.3","commit":"abcdef0123456789"}`)
		r, out := hookPost(t, ts.url, cloud, body)
		ev := event(t, r, out)
		if out.Status != "Success" || ev.Type != "cloudevent" || ev.Payload != body ||
			ev.Qualifiers["source"] != ceSource || ev.Qualifiers["type"] != ceType {
			t.Fatalf("%s: event %+v", r.Body, ev)
		}
		if ev.Git == nil || ev.Git.Ref != "refs/tags/v1.2.3" || ev.Git.Commit != "abcdef0123456789" {
			t.Fatalf("git %+v", ev.Git)
		}
		for _, data := range []string{`,"data":"just text"`, `,"data":[1,"two"]`, ``} {
			r, out := hookPost(t, ts.url, cloud, cloudEvent02(data))
			if ev := event(t, r, out); ev.Git != nil {
				t.Fatalf("data %s: git %+v", data, ev.Git)
			}
		}
		for _, bad := range []string{
			`{"specversion":"1.0","id":"1","type":"` + ceType + `","source":"` + ceSource + `"}`,
			`{"specversion":"0.2","type":"` + ceType + `","source":"` + ceSource + `"}`,
			`{"specversion":"0.2","id":"1","source":"` + ceSource + `"}`,
			`{"specversion":"0.2","id":"1","type":"` + ceType + `"}`,
			`not json`, ``,
		} {
			if r, _ := hookPost(t, ts.url, cloud, bad); r.Status != http.StatusBadRequest {
				t.Fatalf("%s: %d %s", bad, r.Status, r.Body)
			}
		}
		// A source that cannot be a qualifier is refused, never dropped.
		r, _ = hookPost(t, ts.url, cloud, `{"specversion":"0.2","id":"1","type":"t","source":"https://example.com/a b"}`)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("bad qualifier: %d %s", r.Status, r.Body)
		}
	})
	t.Run("Unsubscribed", func(t *testing.T) {
		r, out := hookPost(t, ts.url, "/simpleevents/v1/deaf/"+genericSecret, "{}")
		if r.Status != http.StatusOK || out.EventIDs == nil || len(out.EventIDs) != 0 || !strings.Contains(out.Status, "does not subscribe") {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		// A CloudEvent of a source nobody subscribes to.
		r, out = hookPost(t, ts.url, cloud, `{"specversion":"0.2","id":"1","type":"other","source":"elsewhere"}`)
		if r.Status != http.StatusOK || len(out.EventIDs) != 0 || !strings.Contains(out.Status, "source=elsewhere") {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("BodyLimit", func(t *testing.T) {
		before := len(ts.genericEvents("hooks"))
		pad := func(n int) string { return `{"pad":"` + strings.Repeat("x", n-len(`{"pad":""}`)) + `"}` }
		if r, _ := hookPost(t, ts.url, simple, pad(genericLimit+1)); r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("limit + 1: %d %s", r.Status, r.Body)
		}
		// Nothing is checked beyond the limit, not even the secret.
		if r, _ := hookPost(t, ts.url, "/simpleevents/v1/hooks/wrong", pad(genericLimit+1)); r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("limit + 1, wrong secret: %d %s", r.Status, r.Body)
		}
		if after := len(ts.genericEvents("hooks")); after != before {
			t.Fatalf("%d events created by refused bodies", after-before)
		}
		r, out := hookPost(t, ts.url, simple, pad(genericLimit))
		if ev := event(t, r, out); len(ev.Payload) != genericLimit {
			t.Fatalf("payload of %d bytes", len(ev.Payload))
		}
	})
	t.Run("IdempotencyKey", func(t *testing.T) {
		before := len(ts.genericEvents("hooks"))
		_, first := hookPost(t, ts.url, cloud, cloudEvent02(""), "Idempotency-Key", "delivery-1")
		r, again := hookPost(t, ts.url, cloud, cloudEvent02(""), "Idempotency-Key", "delivery-1")
		if r.Status != http.StatusOK || !again.Replayed || len(first.EventIDs) != 1 || len(again.EventIDs) != 1 ||
			again.EventIDs[0] != first.EventIDs[0] {
			t.Fatalf("first %+v, repeat %d %s", first, r.Status, r.Body)
		}
		// The key is the sender's, per path and project: the other path
		// with the same key is another delivery.
		_, other := hookPost(t, ts.url, simple, "", "Idempotency-Key", "delivery-1")
		if other.Replayed || len(other.EventIDs) != 1 || other.EventIDs[0] == first.EventIDs[0] {
			t.Fatalf("same key on the other path: %+v", other)
		}
		if after := len(ts.genericEvents("hooks")); after != before+2 {
			t.Fatalf("%d events created, want 2", after-before)
		}
		if r, _ := hookPost(t, ts.url, simple, "", "Idempotency-Key", strings.Repeat("k", 256)); r.Status != http.StatusBadRequest {
			t.Fatalf("a key too long: %d %s", r.Status, r.Body)
		}
	})
	t.Run("OtherMethodsAndPaths", func(t *testing.T) {
		r := ts.do("GET", simple, "", nil)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
			t.Fatalf("GET: %d %s", r.Status, r.Body)
		}
		// The server cleans paths in place, as for the API: a trailing
		// slash is the same path.
		if r := ts.do("POST", simple+"/", "", "{}"); r.Status != http.StatusOK {
			t.Fatalf("POST %s/: %d %s", simple, r.Status, r.Body)
		}
		for _, p := range []string{"/simpleevents/v1/hooks", "/cloudevents/v1/hooks/" + genericSecret} {
			if r := ts.do("POST", p, "", "{}"); r.Status != http.StatusNotFound {
				t.Fatalf("POST %s: %d %s", p, r.Status, r.Body)
			}
		}
	})
	t.Run("TooManyWrongSecrets", func(t *testing.T) {
		ts.createProject("guessed", genericSubscriptions()...)
		ts.setSecret("guessed", core.GenericGatewaySecretKey, genericSecret)
		var r reply
		for i := 0; i < 100; i++ {
			if r, _ = hookPost(t, ts.url, "/simpleevents/v1/guessed/a-wrong-guess", ""); r.Status != http.StatusUnauthorized {
				break
			}
		}
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("after many wrong secrets: %d %s", r.Status, r.Body)
		}
		// Other projects are unaffected.
		if r, out := hookPost(t, ts.url, simple, ""); r.Status != http.StatusOK || len(out.EventIDs) != 1 {
			t.Fatalf("another project: %d %s", r.Status, r.Body)
		}
	})
	// Last: no audit entry holds a secret (paths with secrets never reach
	// the API's handlers, and the checks send the secret in a body).
	t.Run("NoSecretInTheAuditLog", func(t *testing.T) {
		var all []byte
		for next := ""; ; {
			r := ts.expect(http.StatusOK, "GET", "/v2/audit?limit=100&continue="+next, ts.root, nil)
			all = append(all, r.Body...)
			var page struct{ Metadata struct{ Continue string } }
			r.into(t, &page)
			if next = page.Metadata.Continue; next == "" {
				break
			}
		}
		if bytes.Contains(all, []byte(genericSecret)) || bytes.Contains(all, []byte("a-wrong-guess")) {
			t.Fatalf("the audit log holds a secret: %s", all)
		}
		if !bytes.Contains(all, []byte("generic-gateway-secret/verifications")) {
			t.Fatalf("no audit entry of a secret check: %s", all)
		}
	})
}

// serveGenericAlone runs the generic gateway alone (as `brigade gateway
// generic` does) against ts with token, and returns its base URL and log.
func serveGenericAlone(t *testing.T, ts *testServer, token string) (string, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := generic.New(generic.Config{}, gateway.Env{API: client.New(ts.url, token), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return serveAlone(t, []gateway.Gateway{g}, log), logs
}

// TestGenericGatewayAlone: run alone with a service account's token, the
// gateway works as mounted; a token the API refuses is a 502 whose cause
// is logged, and creates nothing.
func TestGenericGatewayAlone(t *testing.T) {
	w := &world{ts: startTestServer(t, t.TempDir())}
	ts := w.ts
	ts.createProject("hooks", genericSubscriptions()...)
	ts.setSecret("hooks", core.GenericGatewaySecretKey, genericSecret)
	path := "/simpleevents/v1/hooks/" + genericSecret

	t.Run("ServiceAccount", func(t *testing.T) {
		token := w.serviceAccount("generic-gateway", grant{role: "READER"},
			grant{role: "EVENT_CREATOR", scope: core.GenericGatewaySource})
		base, logs := serveGenericAlone(t, ts, token)
		r, out := hookPost(t, base, path, `{"ref":"main"}`)
		if r.Status != http.StatusOK || len(out.EventIDs) != 1 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if ev := ts.getEvent(out.EventIDs[0]); ev.ProjectID != "hooks" || ev.Git == nil || ev.Git.Ref != "main" {
			t.Fatalf("event %+v", ev)
		}
		if r, _ := hookPost(t, base, "/simpleevents/v1/hooks/wrong", ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d %s", r.Status, r.Body)
		}
		if strings.Contains(logs.String(), genericSecret) {
			t.Fatalf("the log holds the secret:\n%s", logs)
		}
	})
	refused := func(t *testing.T, token, cause string) {
		t.Helper()
		before := len(ts.genericEvents("hooks"))
		base, logs := serveGenericAlone(t, ts, token)
		if r, _ := hookPost(t, base, path, "{}"); r.Status != http.StatusBadGateway {
			t.Fatalf("%d %s, want 502", r.Status, r.Body)
		}
		if after := len(ts.genericEvents("hooks")); after != before {
			t.Fatalf("%d events created", after-before)
		}
		if l := logs.String(); !strings.Contains(l, cause) || strings.Contains(l, genericSecret) {
			t.Fatalf("log without the cause %q, or with the secret:\n%s", cause, l)
		}
	}
	t.Run("UnknownToken", func(t *testing.T) { refused(t, "not-a-token", "authenticate") })
	// An ADMIN may check the secret but not create events: the creation
	// is refused after the check passed.
	t.Run("TokenThatMayNotCreate", func(t *testing.T) {
		refused(t, w.serviceAccount("admin-only", grant{role: "ADMIN"}), "not authorized")
	})
}

// TestGenericGatewayRunsScript: a CloudEvents 0.2 event sent to the v1
// path reaches the subscribed project, whose script runs on the local
// substrate and reads the event.
func TestGenericGatewayRunsScript(t *testing.T) {
	rs := startRunning(t, t.TempDir(), server.Config{})
	script := `const { events } = require("@brigadecore/brigadier");
events.on("brigade.sh/generic", "cloudevent", async event => {
  const ce = JSON.parse(event.payload);
  console.log("cloudevent " + ce.id + " of type " + event.qualifiers.type + " for " + ce.data.who);
});
events.process();`
	p := &core.Project{Metadata: core.ObjectMeta{ID: "webhooked"}, Spec: core.ProjectSpec{
		EventSubscriptions: genericSubscriptions(),
		WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
	}}
	if _, err := rs.c.CreateProject(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if err := rs.c.SetSecret(t.Context(), "webhooked", core.Secret{Key: core.GenericGatewaySecretKey, Value: genericSecret}); err != nil {
		t.Fatal(err)
	}
	r, out := hookPost(t, rs.srv.URL(), "/cloudevents/v02/webhooked/"+genericSecret, cloudEvent02(`,"data":{"who":"the tutorial"}`))
	if r.Status != http.StatusOK || len(out.EventIDs) != 1 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	ev := rs.waitWorker(t, out.EventIDs[0])
	log := rs.logs(t, ev.Metadata.ID, "")
	if ev.Worker.Status.Phase != core.PhaseSucceeded || !strings.Contains(log, "cloudevent A234-1234-1234 of type "+ceType+" for the tutorial") {
		t.Fatalf("worker %s, log:\n%s", ev.Worker.Status.Phase, log)
	}
}
