package server_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

func TestSystem(t *testing.T) {
	ts := newTestServer(t)

	t.Run("HealthzAnswersOK", func(t *testing.T) {
		r := ts.expect(200, "GET", "/healthz", "", nil)
		if string(r.Body) != "ok" {
			t.Fatalf("healthz body %q", r.Body)
		}
	})
	t.Run("PingPlainAndV2", func(t *testing.T) {
		r := ts.expect(200, "GET", "/ping", "", nil)
		if !strings.HasPrefix(string(r.Body), "version ") || !strings.Contains(string(r.Body), " -- commit ") {
			t.Fatalf("ping body %q", r.Body)
		}
		m := ts.expect(200, "GET", "/v2/ping", "", nil).json(t)
		if m["kind"] != "PingResponse" || m["Version"] == nil {
			t.Fatalf("v2 ping %v", m)
		}
	})
	t.Run("EnvelopeKeysComeFirst", func(t *testing.T) {
		r := ts.expect(200, "GET", "/v2/ping", "", nil)
		if !bytes.HasPrefix(r.Body, []byte(`{"kind":"PingResponse","apiVersion":"brigade.sh/v2",`)) {
			t.Fatalf("envelope not first: %s", r.Body)
		}
	})
	t.Run("UnknownPathIs404AndWrongMethodIs405", func(t *testing.T) {
		ts.expect(404, "GET", "/v2/nothing-here", ts.root, nil)
		ts.expect(405, "PATCH", "/v2/projects", ts.root, nil)
	})
	t.Run("UncleanPathsAreServedInPlace", func(t *testing.T) {
		ts.expect(200, "GET", "//v2/projects", ts.root, nil)
		ts.expect(200, "GET", "/v2/projects/", ts.root, nil)
		// Served, not redirected: an EventSource cannot follow a relative
		// redirect (Brigade's JavaScript SDK asks for //v2/... when its
		// address ends in /).
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", ts.url+"//v2/projects", nil)
		req.Header.Set("Authorization", "Bearer "+ts.root)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET //v2/projects: %d %v; want 200 in place", resp.StatusCode, resp.Header)
		}
	})
	t.Run("EscapedSlashesStayInTheirSegment", func(t *testing.T) {
		// Cleaned as decoded, this would be /v2/projects: an id must not
		// climb into another route.
		ts.expectError(404, "NotFoundError", "GET", "/v2/projects/x%2F..%2F..%2Fprojects", ts.root, nil)
		ts.expectError(404, "NotFoundError", "GET", "/v2/projects/x%2F..%2F..%2Fprojects/", ts.root, nil)
	})
	t.Run("CORSPreflight", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", ts.url+"/v2/projects", nil)
		req.Header.Set("Origin", "http://dash.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "http://dash.example" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("CORS headers %v", resp.Header)
		}
	})
}

func TestSessions(t *testing.T) {
	ts := newTestServer(t)
	basic := func(user, pass string) reply {
		req, _ := http.NewRequest("POST", ts.url+"/v2/sessions?root=true", nil)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return reply{Status: resp.StatusCode, Body: b.Bytes()}
	}

	t.Run("RootLoginReturnsToken", func(t *testing.T) {
		r := basic("root", rootPassword)
		m := r.json(t)
		if r.Status != 201 || m["kind"] != "Token" || len(m["value"].(string)) != 256 {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}
	})
	t.Run("WrongPasswordIs401", func(t *testing.T) {
		if r := basic("root", "nope"); r.Status != 401 || r.json(t)["kind"] != "AuthenticationError" {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
		if r := basic("alice", rootPassword); r.Status != 401 {
			t.Fatalf("non-root user: got %d", r.Status)
		}
	})
	t.Run("NoBasicAuthIs400", func(t *testing.T) {
		ts.expectError(400, "BadRequestError", "POST", "/v2/sessions?root=true", "", nil)
	})
	t.Run("ThirdPartyLoginIsNotSupported", func(t *testing.T) {
		ts.expectError(501, "NotSupportedError", "POST", "/v2/sessions", "", nil)
	})
	t.Run("WhoAmIIsRoot", func(t *testing.T) {
		m := ts.expect(200, "GET", "/v2/whoami", ts.root, nil).json(t)
		if m["kind"] != "PrincipalReference" || m["type"] != "ROOT" || m["id"] != "root" {
			t.Fatalf("whoami %v", m)
		}
	})
	t.Run("ServicePrincipalsHaveNoWhoAmI", func(t *testing.T) {
		ts.expectError(403, "AuthorizationError", "GET", "/v2/whoami", schedulerToken, nil)
	})
	t.Run("MissingOrBadTokenIs401", func(t *testing.T) {
		ts.expectError(401, "AuthenticationError", "GET", "/v2/projects", "", nil)
		ts.expectError(401, "AuthenticationError", "GET", "/v2/projects", "not-a-token", nil)
		req, _ := http.NewRequest("GET", ts.url+"/v2/projects", nil)
		req.Header.Set("Authorization", "Token abc")
		resp, _ := http.DefaultClient.Do(req)
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("non-bearer scheme: %d", resp.StatusCode)
		}
	})
	t.Run("LogoutEndsTheSession", func(t *testing.T) {
		tok := ts.login()
		ts.expect(200, "DELETE", "/v2/session", tok, nil)
		ts.expectError(401, "AuthenticationError", "GET", "/v2/whoami", tok, nil)
	})
}

// A restart with a different root password ends every root session made
// with the old one; a restart with the same password ends none.
func TestRootPasswordChangeEndsRootSessions(t *testing.T) {
	dir := t.TempDir()
	ts := startTestServer(t, dir)
	oldToken := ts.root
	ts.stop()

	same := startTestServer(t, dir)
	same.expect(200, "GET", "/v2/whoami", oldToken, nil)
	sameToken := same.root
	same.stop()

	changed := startTestServer(t, dir, func(c *server.Config) { c.RootPassword = "a-different-root-password" })
	for _, tok := range []string{oldToken, sameToken} {
		m := changed.expectError(401, "AuthenticationError", "GET", "/v2/whoami", tok, nil)
		if reason, _ := m["reason"].(string); !strings.Contains(reason, "log in again") {
			t.Fatalf("old root session refused with %q; want it to say to log in again", reason)
		}
	}
	changed.expect(200, "GET", "/v2/whoami", changed.root, nil)
	req, _ := http.NewRequest(http.MethodPost, changed.url+"/v2/sessions?root=true", nil)
	req.SetBasicAuth("root", rootPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("login with the old root password: %d, want 401", resp.StatusCode)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	ts := startTestServer(t, dir)
	ts.createProject("persist", core.EventSubscription{Source: "example.com/gw", Types: []string{"push"}})
	ts.expect(200, "PUT", "/v2/projects/persist/secrets/apiKey", ts.root,
		map[string]any{"apiVersion": core.APIVersion, "kind": "Secret", "key": "apiKey", "value": "s3cr3t-value"})
	evs := ts.createEvents(eventBody("example.com/gw", "push", map[string]any{"payload": "hello"}))
	if len(evs) != 1 {
		t.Fatalf("created %d events", len(evs))
	}
	oldToken := ts.root
	ts.stop()

	ts2 := startTestServer(t, dir)
	ev := ts2.getEvent(evs[0].Metadata.ID)
	if ev.Payload != "hello" || ev.Worker.Status.Phase != core.PhasePending {
		t.Fatalf("event after restart: %+v", ev)
	}
	ts2.expect(200, "GET", "/v2/projects/persist", oldToken, nil) // sessions survive too
	var secrets struct{ Items []core.Secret }
	ts2.expect(200, "GET", "/v2/projects/persist/secrets", ts2.root, nil).into(t, &secrets)
	if len(secrets.Items) != 1 || secrets.Items[0].Key != "apiKey" || secrets.Items[0].Value != "" {
		t.Fatalf("secrets after restart: %+v", secrets.Items)
	}
	n, err := ts2.srv.Store().Queue().Len(t.Context(), core.TaskWorker)
	if err != nil || n != 1 {
		t.Fatalf("queued worker tasks after restart: %d, %v", n, err)
	}
	// Secret values are sealed at rest: the plaintext is nowhere in the data dir.
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte("s3cr3t-value")) {
				t.Errorf("secret value in clear in %s", p)
			}
		}
		return nil
	})
}
