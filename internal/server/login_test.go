package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/idp/idptest"
	"github.com/brigadeplatform/brigade/internal/server"
)

// oidcServer is a test server that logs people in with a test OpenID
// Connect provider, which logs in account.
func oidcServer(t *testing.T, account idptest.Account) (*testServer, *idptest.Provider) {
	t.Helper()
	prov := idptest.Start(t, account)
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) {
		c.Login = server.LoginConfig{OIDCIssuerURL: prov.URL, OIDCClientID: prov.ClientID, OIDCClientSecret: prov.ClientSecret}
	})
	return ts, prov
}

// browse opens url as a browser would, following redirects up to (not
// into) a page off the test's hosts, and returns the last answer and where
// it was.
func browse(t *testing.T, url string, stopAt string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if stopAt != "" && strings.HasPrefix(req.URL.String(), stopAt) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("browsing %s: %v", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp, resp.Request.URL.String()
}

func TestThirdPartyLoginWithOIDC(t *testing.T) {
	ts, _ := oidcServer(t, idptest.Account{Email: "ada@example.com", Name: "Ada Lovelace"})

	var details struct{ AuthURL, Token string }
	ts.expect(http.StatusCreated, http.MethodPost, "/v2/sessions", "", nil).into(t, &details)
	if details.AuthURL == "" || len(details.Token) != 256 {
		t.Fatalf("third-party auth details %+v", details)
	}
	// Until the person has logged in, the token opens nothing.
	ts.expectError(http.StatusUnauthorized, "AuthenticationError", http.MethodGet, "/v2/whoami", details.Token, nil)

	resp, at := browse(t, details.AuthURL, "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(at, "/assets/splash.html") || !strings.Contains(string(body), "You are logged in") {
		t.Fatalf("the browser ended at %s with %s: %s", at, resp.Status, body)
	}
	var me struct{ Type, ID string }
	ts.expect(http.StatusOK, http.MethodGet, "/v2/whoami", details.Token, nil).into(t, &me)
	if me.Type != "USER" || me.ID != "ada@example.com" {
		t.Errorf("whoami after the login: %+v", me)
	}
	// The audit log says who logged in.
	logins := ts.auditLog(url.Values{"action": {"GET /v2/session/auth"}})
	if len(logins) != 1 || logins[0].Principal.Kind != "USER" || logins[0].Principal.ID != "ada@example.com" ||
		logins[0].Object != "users/ada@example.com" || logins[0].Status != http.StatusMovedPermanently {
		t.Errorf("audit entries of the login: %+v", logins)
	}

	// The callback cannot be used twice.
	callback := ts.url + "/v2/session/auth?state=x&code=y"
	resp, _ = browse(t, callback, "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("a callback with an unknown state: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	resp, _ = browse(t, ts.url+"/v2/session/auth?state=x", "")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a callback without a code: %s", resp.Status)
	}
}

func TestThirdPartyLoginGoesToTheSuccessURL(t *testing.T) {
	ts, _ := oidcServer(t, idptest.Account{Email: "ada@example.com", Name: "Ada"})
	var details struct{ AuthURL, Token string }
	ts.expect(http.StatusCreated, http.MethodPost, "/v2/sessions?successURL=https%3A%2F%2Fdashboard.example%2Fdone", "", nil).
		into(t, &details)
	resp, _ := browse(t, details.AuthURL, "https://dashboard.example/")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://dashboard.example/done" {
		t.Fatalf("after the login: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	ts.expectError(http.StatusBadRequest, "BadRequestError", http.MethodPost, "/v2/sessions?successURL=javascript:alert(1)", "", nil)
}

func TestThirdPartyLoginRefusalsAreShownToThePerson(t *testing.T) {
	no := false
	ts, _ := oidcServer(t, idptest.Account{Email: "eve@example.com", EmailVerified: &no})
	var details struct{ AuthURL, Token string }
	ts.expect(http.StatusCreated, http.MethodPost, "/v2/sessions", "", nil).into(t, &details)
	resp, _ := browse(t, details.AuthURL, "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "not verified") {
		t.Fatalf("an unverified e-mail: %s: %s", resp.Status, body)
	}
	ts.expectError(http.StatusUnauthorized, "AuthenticationError", http.MethodGet, "/v2/whoami", details.Token, nil)
}

func TestThirdPartyLoginIsOffByDefault(t *testing.T) {
	ts := newTestServer(t)
	ts.expectError(http.StatusNotImplemented, "NotSupportedError", http.MethodPost, "/v2/sessions", "", nil)
	resp, _ := browse(t, ts.url+"/v2/session/auth?state=x&code=y", "")
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("the callback without a provider: %s", resp.Status)
	}
}

// TestThirdPartyLoginOfALockedUser: a locked user's next login is refused
// at the callback, and the session it started opens nothing.
func TestThirdPartyLoginOfALockedUser(t *testing.T) {
	ts, _ := oidcServer(t, idptest.Account{Email: "Ada@Example.com", Name: "Ada"})
	loginOnce := func() (string, *http.Response) {
		var details struct{ AuthURL, Token string }
		ts.expect(http.StatusCreated, http.MethodPost, "/v2/sessions", "", nil).into(t, &details)
		resp, _ := browse(t, details.AuthURL, "")
		return details.Token, resp
	}
	tok, resp := loginOnce()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first login: %s", resp.Status)
	}
	// The first login made the user (ids match without regard to case).
	ts.expect(http.StatusOK, http.MethodGet, "/v2/users/ada@example.com", ts.root, nil)
	ts.expect(http.StatusOK, http.MethodPut, "/v2/users/ada@example.com/lock", ts.root, nil)
	// Locking ended the user's sessions.
	ts.expectError(http.StatusUnauthorized, "AuthenticationError", http.MethodGet, "/v2/whoami", tok, nil)

	tok, resp = loginOnce()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "locked") {
		t.Fatalf("a locked user's login: %s: %s", resp.Status, body)
	}
	ts.expectError(http.StatusUnauthorized, "AuthenticationError", http.MethodGet, "/v2/whoami", tok, nil)
}

// TestFirstLoginRoles: an administrator named in the configuration gets
// ADMIN, PROJECT_CREATOR and READER on their first login, anyone else
// READER when the server grants it to new users.
func TestFirstLoginRoles(t *testing.T) {
	prov := idptest.Start(t, idptest.Account{Email: "boss@example.com", Name: "Boss"})
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) {
		c.Login = server.LoginConfig{OIDCIssuerURL: prov.URL, OIDCClientID: prov.ClientID, OIDCClientSecret: prov.ClientSecret,
			GrantReaderOnFirstLogin: true, AdminUserIDs: []string{"BOSS@example.com"}}
	})
	login := func() string {
		var details struct{ AuthURL, Token string }
		ts.expect(http.StatusCreated, http.MethodPost, "/v2/sessions", "", nil).into(t, &details)
		if resp, _ := browse(t, details.AuthURL, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("login: %s", resp.Status)
		}
		return details.Token
	}
	boss := login()
	prov.SetAccount(idptest.Account{Email: "dev@example.com", Name: "Dev"})
	dev := login()
	// The administrator may grant roles and create projects; the other
	// user may read, but not create projects.
	ts.expect(http.StatusOK, http.MethodGet, "/v2/role-assignments", boss, nil)
	ts.expect(http.StatusCreated, http.MethodPost, "/v2/projects", boss, projectBody("by-boss"))
	ts.expect(http.StatusOK, http.MethodGet, "/v2/projects/by-boss", dev, nil)
	ts.expectError(http.StatusForbidden, "AuthorizationError", http.MethodPost, "/v2/projects", dev, projectBody("by-dev"))
}
