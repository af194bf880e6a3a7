package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/idp/idptest"
	"github.com/brigadeplatform/brigade/internal/server"
)

const noopScript = `const { events } = require("@brigadecore/brigadier"); events.on("brigade.sh/cli", "exec", async () => {}); events.process();`

func TestSignIn(t *testing.T) {
	d := startDash(t, "none")
	t.Run("PagesSendStrangersToSignInAndBack", func(t *testing.T) {
		b := newBrowser(t, d.url)
		code, _, h := b.get("/events/some-event?x=1")
		if code != http.StatusSeeOther || h.Get("Location") != "/signin?next="+url.QueryEscape("/events/some-event?x=1") {
			t.Fatalf("got %d to %q", code, h.Get("Location"))
		}
	})
	t.Run("WrongPasswordIsRefusedWithAReason", func(t *testing.T) {
		b := newBrowser(t, d.url)
		code, page, h := b.signIn("not the password")
		if code != http.StatusUnauthorized || !strings.Contains(page, `role="alert"`) || strings.Contains(h.Get("Set-Cookie"), "brigade_session=") {
			t.Fatalf("got %d, cookie %q:\n%s", code, h.Get("Set-Cookie"), page)
		}
	})
	t.Run("AFormFromElsewhereIsRefused", func(t *testing.T) {
		b := newBrowser(t, d.url)
		code, _, _ := b.post("/signin", url.Values{"form": {"made-up"}, "password": {rootPassword}})
		if code != http.StatusForbidden {
			t.Fatalf("got %d", code)
		}
	})
	t.Run("TheSessionCookieIsHttpOnlyAndStrict", func(t *testing.T) {
		b := newBrowser(t, d.url)
		code, _, h := b.signIn(rootPassword)
		c := h.Get("Set-Cookie")
		for _, h := range h.Values("Set-Cookie") {
			if strings.HasPrefix(h, "brigade_session=") {
				c = h
			}
		}
		if code != http.StatusSeeOther || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
			t.Fatalf("got %d, cookie %q", code, c)
		}
		if code, page, _ := b.get("/"); code != http.StatusOK || !strings.Contains(page, "Signed in as <strong>root</strong>") {
			t.Fatalf("got %d:\n%s", code, page)
		}
		// Signing out ends the session itself, not just the cookie.
		csrf := b.csrf("/")
		if code, _, _ := b.post("/signout", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
			t.Fatalf("sign out: %d", code)
		}
		if code, _, _ := b.get("/"); code != http.StatusSeeOther {
			t.Fatalf("after signing out, / answered %d", code)
		}
	})
}

func TestSignInCode(t *testing.T) {
	d := startDash(t, "none")
	code, err := d.c.CreateSignInCode(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, d.url)
	status, page, _ := b.get("/signin?next=%2Fprojects%2Fx&code=" + url.QueryEscape(code.Code))
	if status != http.StatusOK || !strings.Contains(page, `content="0;url=/projects/x"`) {
		t.Fatalf("redeeming: %d\n%s", status, page)
	}
	if status, page, _ := b.get("/"); status != http.StatusOK || !strings.Contains(page, "Signed in as <strong>root</strong>") {
		t.Fatalf("after redeeming: %d\n%s", status, page)
	}
	t.Run("WorksOnce", func(t *testing.T) {
		other := newBrowser(t, d.url)
		if status, page, _ := other.get("/signin?code=" + url.QueryEscape(code.Code)); status != http.StatusUnauthorized ||
			!strings.Contains(page, "unknown, used or expired") {
			t.Fatalf("second redemption: %d\n%s", status, page)
		}
	})
	t.Run("NeedsASession", func(t *testing.T) {
		resp, err := http.Post(d.url+"/v2/session/sign-in-codes", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("without a token: %d", resp.StatusCode)
		}
	})
	t.Run("IsNoBearerToken", func(t *testing.T) {
		c2, err := d.c.CreateSignInCode(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.c.WithToken(c2.Code).WhoAmI(t.Context()); err == nil {
			t.Fatal("a sign-in code authenticated an API request")
		}
	})
}

func TestPagesWithoutJavaScript(t *testing.T) {
	d := startDash(t, "none")
	d.project(t, "shown", noopScript)
	if err := d.c.SetSecret(t.Context(), "shown", core.Secret{Key: "API_KEY", Value: "value-never-shown-123"}); err != nil {
		t.Fatal(err)
	}
	id := d.event(t, "shown", `{"greeting":"hello from the payload"}`)
	b := newBrowser(t, d.url)
	b.signIn(rootPassword)
	for path, wants := range map[string][]string{
		"/":                           {"shown", "PENDING", "/events/" + id},
		"/projects/shown":             {"brigade.sh/cli", "API_KEY", "/events/" + id, "Send an event"},
		"/events/" + id:               {"hello from the payload", "Timeline", "Cancel event", "Worker log"},
		"/events/" + id + "/logs":     {"Logs of worker", "Download the whole log"},
		"/events/" + id + "/logs.txt": nil,
	} {
		code, page, _ := b.get(path)
		if code != http.StatusOK {
			t.Errorf("%s: %d\n%s", path, code, page)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(page, w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
		if strings.Contains(page, "value-never-shown-123") {
			t.Errorf("%s shows a secret's value", path)
		}
	}
	t.Run("UnknownThingsAre404Pages", func(t *testing.T) {
		for _, p := range []string{"/events/nope", "/projects/nope"} {
			if code, page, _ := b.get(p); code != http.StatusNotFound || !strings.Contains(page, `role="alert"`) {
				t.Errorf("%s: %d", p, code)
			}
		}
	})
}

func TestFirstPageIsSmall(t *testing.T) {
	d := startDash(t, "none")
	for i := 0; i < 20; i++ {
		d.project(t, "project-"+string(rune('a'+i)), noopScript)
	}
	b := newBrowser(t, d.url)
	b.signIn(rootPassword)
	total := 0
	for _, p := range []string{"/", "/static/app.css", "/static/app.js"} {
		code, body, _ := b.get(p)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", p, code)
		}
		total += len(body)
	}
	if total >= 100<<10 {
		t.Fatalf("the first page weighs %d bytes with its assets; keep it under 100 KB", total)
	}
}

func TestAPIKeepsItsPaths(t *testing.T) {
	d := startDash(t, "none")
	for _, p := range []string{"/v2/nothing-here", "/v2/projects/x/nothing"} {
		resp, err := http.Get(d.url + p)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Kind string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || body.Kind != "NotFoundError" {
			t.Errorf("%s: %d %q, want the API's JSON 404", p, resp.StatusCode, body.Kind)
		}
	}
}

func TestActionsNeedTheFormsToken(t *testing.T) {
	d := startDash(t, "none")
	d.project(t, "guarded", noopScript)
	id := d.event(t, "guarded", "")
	b := newBrowser(t, d.url)
	b.signIn(rootPassword)
	for name, form := range map[string]url.Values{"none": {}, "wrong": {"csrf": {"0123456789"}}} {
		if code, _, _ := b.post("/events/"+id+"/cancel", form); code != http.StatusForbidden {
			t.Errorf("%s token: %d", name, code)
		}
	}
	csrf := b.csrf("/events/" + id)
	if code, _, _ := b.post("/events/"+id+"/cancel", url.Values{"csrf": {csrf}}, "Origin", "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("another origin: %d", code)
	}
	if ev := d.waitPhase(t, id, core.PhasePending); ev == nil {
		t.Fatal("unreachable")
	}
	if code, _, h := b.post("/events/"+id+"/cancel", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther || h.Get("Location") != "/events/"+id {
		t.Fatalf("cancel: %d %q", code, h.Get("Location"))
	}
	d.waitPhase(t, id, core.PhaseCanceled)
}

func TestSendEventForm(t *testing.T) {
	d := startDash(t, "none")
	d.project(t, "target", noopScript)
	b := newBrowser(t, d.url)
	b.signIn(rootPassword)
	csrf := b.csrf("/projects/target")
	t.Run("BadInputIsShownAndChangesNothing", func(t *testing.T) {
		for name, form := range map[string]url.Values{
			"no type":         {"source": {"brigade.sh/cli"}, "type": {""}},
			"unsubscribed":    {"source": {"brigade.sh/cli"}, "type": {"other"}},
			"control in type": {"source": {"brigade.sh/cli"}, "type": {"a\x01b"}},
		} {
			form.Set("csrf", csrf)
			form.Set("payload", "typed text kept")
			code, page, _ := b.post("/projects/target/events", form)
			if code != http.StatusBadRequest || !strings.Contains(page, `id="send-error"`) || !strings.Contains(page, "typed text kept") {
				t.Errorf("%s: %d\n%s", name, code, page)
			}
		}
		evs, err := d.c.ListEvents(t.Context(), &client.EventSelector{ProjectID: "target"}, nil)
		if err != nil || len(evs.Items) != 0 {
			t.Fatalf("events after refused forms: %v (%v)", evs, err)
		}
	})
	code, _, h := b.post("/projects/target/events", url.Values{"csrf": {csrf}, "source": {"brigade.sh/cli"}, "type": {"exec"}, "payload": {"p"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/events/") {
		t.Fatalf("send: %d %q", code, h.Get("Location"))
	}
	ev, err := d.c.GetEvent(t.Context(), strings.TrimPrefix(h.Get("Location"), "/events/"))
	if err != nil || ev.Payload != "p" || ev.ProjectID != "target" {
		t.Fatalf("the event sent: %+v, %v", ev, err)
	}
}

// TestAuthorizationApplies: a user who may only read sees no actions, and
// is refused them as the API would refuse.
func TestAuthorizationApplies(t *testing.T) {
	d := startDash(t, "none", func(c *server.Config) { c.ThirdPartyAuth = true })
	d.project(t, "theirs", noopScript)
	id := d.event(t, "theirs", "")
	svc := d.srv.Service()
	if _, err := svc.EnsureUser(t.Context(), "reader@example.com", "Reader"); err != nil {
		t.Fatal(err)
	}
	if err := d.c.GrantRole(t.Context(), core.RoleAssignment{Role: "READER",
		Principal: core.PrincipalReference{Type: core.PrincipalTypeUser, ID: "reader@example.com"}}); err != nil {
		t.Fatal(err)
	}
	tok, err := svc.StartUserSession(t.Context(), "reader@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, d.url)
	u, _ := url.Parse(d.url)
	b.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "brigade_session", Value: tok.Value, Path: "/"}})
	code, page, _ := b.get("/events/" + id)
	if code != http.StatusOK || strings.Contains(page, "Cancel event") || strings.Contains(page, "Clone") {
		t.Fatalf("a reader's event page: %d, actions shown: %v", code, strings.Contains(page, "Cancel event"))
	}
	csrf := csrfField.FindStringSubmatch(page)[1]
	if code, page, _ := b.post("/events/"+id+"/cancel", url.Values{"csrf": {csrf}}); code != http.StatusForbidden ||
		!strings.Contains(page, "PROJECT_USER") {
		t.Fatalf("a reader's cancel: %d\n%s", code, page)
	}
	if code, _, _ := b.get("/events/" + id + "/logs"); code != http.StatusForbidden {
		t.Fatalf("a reader's logs: %d", code)
	}
	d.waitPhase(t, id, core.PhasePending)
}

// TestSignInWithTheIdentityProvider: with a third-party login configured,
// the sign-in page offers it, and the browser comes back signed in as the
// person, by way of the API's own callback.
func TestSignInWithTheIdentityProvider(t *testing.T) {
	prov := idptest.Start(t, idptest.Account{Email: "ada@example.com", Name: "Ada Lovelace"})
	d := startDash(t, "none", func(c *server.Config) {
		c.Login = server.LoginConfig{OIDCIssuerURL: prov.URL, OIDCClientID: prov.ClientID, OIDCClientSecret: prov.ClientSecret,
			GrantReaderOnFirstLogin: true}
	})
	b := newBrowser(t, d.url)
	_, page, _ := b.get("/signin?next=%2F")
	if !strings.Contains(page, "Sign in with OpenID Connect") {
		t.Fatalf("the sign-in page offers no provider:\n%s", page)
	}
	form := formField.FindStringSubmatch(page)[1]
	b.hc.CheckRedirect = nil // the browser follows the provider's redirects
	code, page, _ := b.post("/signin/provider", url.Values{"form": {form}, "next": {"/"}})
	if code != http.StatusOK || !strings.Contains(page, `content="0;url=/"`) {
		t.Fatalf("back from the provider: %d\n%s", code, page)
	}
	if code, page, _ := b.get("/"); code != http.StatusOK || !strings.Contains(page, "Signed in as <strong>ada@example.com</strong>") {
		t.Fatalf("after the provider: %d\n%s", code, page)
	}
}
