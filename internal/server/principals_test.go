package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

func withUsers(c *server.Config) { c.ThirdPartyAuth = true }

// TestServiceAccountsOnTheWire checks the objects as Brigade's SDKs read
// them: the token once at creation, the account without it, lists with
// metadata, and unlock answering with a new token.
func TestServiceAccountsOnTheWire(t *testing.T) {
	ts := newTestServer(t)
	r := ts.expect(http.StatusCreated, "POST", "/v2/service-accounts", ts.root, saBody("gateway"))
	tok := r.json(t)
	if tok["kind"] != "Token" || len(tok["value"].(string)) != 256 {
		t.Fatalf("create answered %s", r.Body)
	}
	ts.expectError(http.StatusConflict, "ConflictError", "POST", "/v2/service-accounts", ts.root, saBody("gateway"))
	bad := saBody("gateway")
	delete(bad, "description")
	ts.expectError(http.StatusBadRequest, "BadRequestError", "POST", "/v2/service-accounts", ts.root, bad)

	sa := ts.expect(http.StatusOK, "GET", "/v2/service-accounts/gateway", ts.root, nil)
	if !strings.HasPrefix(string(sa.Body), `{"kind":"ServiceAccount","apiVersion":"brigade.sh/v2","metadata":{"id":"gateway","created":"`) ||
		!strings.HasSuffix(string(sa.Body), `"description":"service account gateway"}`) {
		t.Fatalf("service account: %s", sa.Body)
	}
	list := ts.expect(http.StatusOK, "GET", "/v2/service-accounts?limit=1", ts.root, nil).json(t)
	if list["kind"] != "ServiceAccountList" || list["metadata"].(map[string]any)["remainingItemCount"] != float64(0) ||
		len(list["items"].([]any)) != 1 {
		t.Fatalf("list: %v", list)
	}
	ts.expectError(http.StatusNotFound, "NotFoundError", "GET", "/v2/service-accounts/nope", ts.root, nil)
	ts.expectError(http.StatusNotFound, "NotFoundError", "PUT", "/v2/service-accounts/nope/lock", ts.root, nil)

	// The account's token works until the account is locked; unlocking
	// issues a new one and the old one stays refused.
	old := tok["value"].(string)
	who := ts.expect(http.StatusOK, "GET", "/v2/whoami", old, nil).json(t)
	if who["type"] != "SERVICE_ACCOUNT" || who["id"] != "gateway" {
		t.Fatalf("whoami: %v", who)
	}
	ts.expect(http.StatusOK, "PUT", "/v2/service-accounts/gateway/lock", ts.root, nil)
	locked := ts.expect(http.StatusOK, "GET", "/v2/service-accounts/gateway", ts.root, nil).json(t)
	if locked["locked"] == nil {
		t.Fatalf("a locked account shows no lock: %v", locked)
	}
	m := ts.expectError(http.StatusForbidden, "AuthorizationError", "GET", "/v2/whoami", old, nil)
	if !strings.Contains(m["reason"].(string), `"gateway" is locked`) {
		t.Fatalf("locked reason: %v", m)
	}
	r = ts.expect(http.StatusOK, "DELETE", "/v2/service-accounts/gateway/lock", ts.root, nil)
	fresh := r.json(t)
	if fresh["kind"] != "Token" || fresh["value"] == old {
		t.Fatalf("unlock answered %s", r.Body)
	}
	ts.expectError(http.StatusUnauthorized, "AuthenticationError", "GET", "/v2/whoami", old, nil)
	ts.expect(http.StatusOK, "GET", "/v2/whoami", fresh["value"].(string), nil)

	ts.expect(http.StatusOK, "DELETE", "/v2/service-accounts/gateway", ts.root, nil)
	ts.expectError(http.StatusUnauthorized, "AuthenticationError", "GET", "/v2/whoami", fresh["value"].(string), nil)
}

// TestUsersOnTheWire: users exist once they logged in; their id is matched
// without regard to case; locking ends their sessions; without third-party
// logins the user calls answer 501, as Brigade's did.
func TestUsersOnTheWire(t *testing.T) {
	ts := startTestServer(t, t.TempDir(), withUsers)
	svc := ts.srv.Service()
	if _, err := svc.EnsureUser(t.Context(), "Ann@Example.com", "Ann"); err != nil {
		t.Fatal(err)
	}
	u := ts.expect(http.StatusOK, "GET", "/v2/users/ann@example.com", ts.root, nil)
	if !strings.HasPrefix(string(u.Body), `{"kind":"User","apiVersion":"brigade.sh/v2","metadata":{"id":"Ann@Example.com","created":"`) ||
		!strings.HasSuffix(string(u.Body), `"name":"Ann","locked":null}`) {
		t.Fatalf("user: %s", u.Body)
	}
	list := ts.expect(http.StatusOK, "GET", "/v2/users", ts.root, nil).json(t)
	if list["kind"] != "UserList" || len(list["items"].([]any)) != 1 {
		t.Fatalf("users: %v", list)
	}
	tok, err := svc.StartUserSession(t.Context(), "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	who := ts.expect(http.StatusOK, "GET", "/v2/whoami", tok.Value, nil).json(t)
	if who["type"] != "USER" || who["id"] != "Ann@Example.com" {
		t.Fatalf("whoami: %v", who)
	}
	ts.expectError(http.StatusForbidden, "AuthorizationError", "GET", "/v2/users", tok.Value, nil) // no READER yet
	ts.expect(http.StatusOK, "PUT", "/v2/users/ANN@example.com/lock", ts.root, nil)
	ts.expectError(http.StatusUnauthorized, "AuthenticationError", "GET", "/v2/whoami", tok.Value, nil)
	if _, err := svc.StartUserSession(t.Context(), "ann@example.com"); err == nil {
		t.Fatal("a locked user got a session")
	}
	ts.expect(http.StatusOK, "DELETE", "/v2/users/ann@example.com/lock", ts.root, nil)
	if _, err := svc.StartUserSession(t.Context(), "ann@example.com"); err != nil {
		t.Fatalf("an unlocked user got no session: %v", err)
	}
	ts.expectError(http.StatusNotFound, "NotFoundError", "PUT", "/v2/users/bob@example.com/lock", ts.root, nil)
	ts.expect(http.StatusOK, "DELETE", "/v2/users/ann@example.com", ts.root, nil)
	ts.expectError(http.StatusNotFound, "NotFoundError", "GET", "/v2/users/ann@example.com", ts.root, nil)

	plain := newTestServer(t)
	m := plain.expectError(http.StatusNotImplemented, "NotSupportedError", "GET", "/v2/users", plain.root, nil)
	if !strings.Contains(m["reason"].(string), "User management functions are unavailable") {
		t.Fatalf("501 reason: %v", m)
	}
	plain.expectError(http.StatusNotFound, "NotFoundError", "DELETE", "/v2/users/ann@example.com", plain.root, nil)
}

// TestRoleAssignmentsOnTheWire: grants are upserts on existing principals,
// lists carry the principal with its own envelope, a revoke holds from the
// next request on, and a project's creator may administer it.
func TestRoleAssignmentsOnTheWire(t *testing.T) {
	ts := startTestServer(t, t.TempDir(), withUsers)
	var tok core.Token
	ts.expect(http.StatusCreated, "POST", "/v2/service-accounts", ts.root, saBody("bot")).into(t, &tok)
	if _, err := ts.srv.Service().EnsureUser(t.Context(), "ann@example.com", "Ann"); err != nil {
		t.Fatal(err)
	}
	reader := roleBody("RoleAssignment", "READER", "bot")
	ts.expectError(http.StatusForbidden, "AuthorizationError", "GET", "/v2/projects", tok.Value, nil)
	ts.expect(http.StatusOK, "POST", "/v2/role-assignments", ts.root, reader)
	ts.expect(http.StatusOK, "POST", "/v2/role-assignments", ts.root, reader) // again: no change
	ts.expect(http.StatusOK, "GET", "/v2/projects", tok.Value, nil)           // the cached principal was dropped

	ts.expectError(http.StatusNotFound, "NotFoundError", "POST", "/v2/role-assignments", ts.root, roleBody("RoleAssignment", "READER", "nobody"))
	ts.expectError(http.StatusBadRequest, "BadRequestError", "POST", "/v2/role-assignments", ts.root, roleBody("RoleAssignment", "WORKER", "bot"))
	star := roleBody("RoleAssignment", "EVENT_CREATOR", "bot")
	star["scope"] = "*"
	ts.expectError(http.StatusBadRequest, "BadRequestError", "POST", "/v2/role-assignments", ts.root, star)
	user := map[string]any{"apiVersion": core.APIVersion, "kind": "RoleAssignment", "role": "ADMIN",
		"principal": map[string]any{"type": "USER", "id": "ANN@example.com"}}
	ts.expect(http.StatusOK, "POST", "/v2/role-assignments", ts.root, user)

	r := ts.expect(http.StatusOK, "GET", "/v2/role-assignments?principalType=SERVICE_ACCOUNT&principalID=bot", ts.root, nil)
	want := `{"kind":"RoleAssignmentList","apiVersion":"brigade.sh/v2","metadata":{"remainingItemCount":0},"items":[` +
		`{"kind":"RoleAssignment","apiVersion":"brigade.sh/v2","role":"READER","principal":` +
		`{"kind":"PrincipalReference","apiVersion":"brigade.sh/v2","type":"SERVICE_ACCOUNT","id":"bot"}}]}`
	if string(r.Body) != want {
		t.Fatalf("role list:\n got %s\nwant %s", r.Body, want)
	}
	all := ts.expect(http.StatusOK, "GET", "/v2/role-assignments?limit=1", ts.root, nil).json(t)
	meta := all["metadata"].(map[string]any)
	if meta["continue"] != "SERVICE_ACCOUNT:bot:READER:" || meta["remainingItemCount"] != float64(1) {
		t.Fatalf("first page of two: %v", all)
	}
	ts.expectError(http.StatusBadRequest, "BadRequestError", "GET", "/v2/role-assignments?limit=0", ts.root, nil)

	ts.expect(http.StatusOK, "DELETE", "/v2/role-assignments?role=READER&principalType=SERVICE_ACCOUNT&principalID=bot", ts.root, nil)
	ts.expect(http.StatusOK, "DELETE", "/v2/role-assignments?role=READER&principalType=SERVICE_ACCOUNT&principalID=bot", ts.root, nil)
	ts.expectError(http.StatusForbidden, "AuthorizationError", "GET", "/v2/projects", tok.Value, nil) // the revoke holds at once
	ts.expectError(http.StatusBadRequest, "BadRequestError", "DELETE", "/v2/role-assignments?principalID=bot", ts.root, nil)

	// A service account that creates a project administers it.
	ts.expect(http.StatusOK, "POST", "/v2/role-assignments", ts.root, roleBody("RoleAssignment", "PROJECT_CREATOR", "bot"))
	ts.expect(http.StatusCreated, "POST", "/v2/projects", tok.Value, projectBody("bots"))
	pr := ts.expect(http.StatusOK, "GET", "/v2/projects/bots/role-assignments", ts.root, nil).json(t)
	if items := pr["items"].([]any); len(items) != 3 || pr["kind"] != "ProjectRoleAssignmentList" {
		t.Fatalf("the creator's roles: %v", pr)
	}
	grant := roleBody("ProjectRoleAssignment", "PROJECT_USER", "bot")
	grant["principal"] = map[string]any{"type": "USER", "id": "ann@example.com"}
	ts.expect(http.StatusOK, "POST", "/v2/projects/bots/role-assignments", tok.Value, grant)
	ts.expectError(http.StatusNotFound, "NotFoundError", "POST", "/v2/projects/nope/role-assignments", ts.root, grant)
	withProject := roleBody("ProjectRoleAssignment", "PROJECT_USER", "bot")
	withProject["projectID"] = "bots"
	ts.expectError(http.StatusBadRequest, "BadRequestError", "POST", "/v2/projects/bots/role-assignments", ts.root, withProject)
	cross := ts.expect(http.StatusOK, "GET", "/v2/project-role-assignments?project=bots&principalType=USER&principalID=ann@example.com", ts.root, nil).json(t)
	if items := cross["items"].([]any); len(items) != 1 || items[0].(map[string]any)["projectID"] != "bots" {
		t.Fatalf("cross-project list: %v", cross)
	}
	ts.expect(http.StatusOK, "DELETE", "/v2/projects/bots/role-assignments?role=PROJECT_ADMIN&principalType=SERVICE_ACCOUNT&principalID=bot", tok.Value, nil)
	ts.expectError(http.StatusForbidden, "AuthorizationError", "DELETE",
		"/v2/projects/bots/role-assignments?role=PROJECT_USER&principalType=USER&principalID=ann@example.com", tok.Value, nil)
}

// TestUnservedRoutesAnswerJSON: Brigade's SDKs decode every error body, so
// a path or method the API does not serve answers JSON too.
func TestUnservedRoutesAnswerJSON(t *testing.T) {
	ts := newTestServer(t)
	m := ts.expectError(http.StatusNotFound, "NotFoundError", "GET", "/v2/nothing", "", nil)
	if !strings.Contains(m["reason"].(string), "GET /v2/nothing") {
		t.Fatalf("404 reason: %v", m)
	}
	ts.expectError(http.StatusNotFound, "NotFoundError", "POST", "/nothing/at/all", ts.root, nil)
	r := ts.do("PATCH", "/v2/events", ts.root, nil)
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, POST, DELETE" ||
		r.json(t)["kind"] != "MethodNotAllowedError" {
		t.Fatalf("wrong method: %d %v %s", r.Status, r.Header, r.Body)
	}
}

// TestGatewayFlow follows Brigade's documented gateway setup: a service
// account with EVENT_CREATOR for its source creates events from that
// source only, and its token is refused once the account is locked.
func TestGatewayFlow(t *testing.T) {
	ts := newTestServer(t)
	ts.createProject("demo", core.EventSubscription{Source: srcA, Types: []string{"*"}},
		core.EventSubscription{Source: srcB, Types: []string{"*"}})
	var tok core.Token
	ts.expect(http.StatusCreated, "POST", "/v2/service-accounts", ts.root, saBody("gateway")).into(t, &tok)
	grant := roleBody("RoleAssignment", "EVENT_CREATOR", "gateway")
	grant["scope"] = srcA
	ts.expect(http.StatusOK, "POST", "/v2/role-assignments", ts.root, grant)

	r := ts.expect(http.StatusCreated, "POST", "/v2/events", tok.Value, eventBody(srcA, "push", nil))
	if items := r.json(t)["items"].([]any); len(items) != 1 {
		t.Fatalf("events made: %s", r.Body)
	}
	ts.expectError(http.StatusForbidden, "AuthorizationError", "POST", "/v2/events", tok.Value, eventBody(srcB, "push", nil))
	ts.expect(http.StatusOK, "PUT", "/v2/service-accounts/gateway/lock", ts.root, nil)
	ts.expectError(http.StatusForbidden, "AuthorizationError", "POST", "/v2/events", tok.Value, eventBody(srcA, "push", nil))
}
