package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

// who is a kind of caller in the authorization matrix. Each holds exactly
// the roles its comment names, so that a cell that passes shows that the
// endpoint asks for that role (there is no hierarchy: ADMIN is not READER).
type who int

const (
	anonymous         who = iota // no Authorization header
	root                         // a root session
	admin                        // service account: ADMIN
	reader                       // user: READER
	projectCreator               // service account: PROJECT_CREATOR
	projAdmin                    // user: READER, PROJECT_ADMIN on alpha
	projDev                      // service account: READER, PROJECT_DEVELOPER on alpha
	projUser                     // user: READER, PROJECT_USER on alpha
	otherAdmin                   // service account: READER, PROJECT_ADMIN on beta
	otherDev                     // user: READER, PROJECT_DEVELOPER on beta
	otherUser                    // service account: READER, PROJECT_USER on beta
	eventCreator                 // service account: EVENT_CREATOR for srcA
	otherEventCreator            // service account: EVENT_CREATOR for srcB
	worker                       // the worker of an event of alpha (source srcA)
	scheduler                    // the scheduler's static token
	observer                     // the observer's static token
	lockedSA                     // service account with ADMIN and READER, locked
	lockedUser                   // user with ADMIN and READER, locked (which ended its sessions)
	whoCount
)

var whoNames = [whoCount]string{
	"anonymous", "root", "admin", "reader", "projectCreator", "projAdmin", "projDev", "projUser",
	"otherProjAdmin", "otherProjDev", "otherProjUser", "eventCreator", "otherEventCreator",
	"worker", "scheduler", "observer", "lockedServiceAccount", "lockedUser",
}

const (
	srcA = "example.com/gw-a"
	srcB = "example.com/gw-b"
)

// Who holds what.
var (
	readers = []who{root, reader, projAdmin, projDev, projUser, otherAdmin, otherDev, otherUser,
		worker, scheduler, observer}
	admins = []who{root, admin}
	// identified callers: root, users and service accounts (whoami).
	identified = []who{root, admin, reader, projectCreator, projAdmin, projDev, projUser,
		otherAdmin, otherDev, otherUser, eventCreator, otherEventCreator}
)

// grant is a role given to a fixture principal.
type grant struct {
	role    string
	scope   string // system roles
	project string // project roles
}

// world is one server with two projects, a principal of every kind and an
// event of alpha whose worker is running.
type world struct {
	ts          *testServer
	tokens      [whoCount]string
	users       map[who]string // the user id of each kind that is a user
	workerEvent string         // the event of alpha whose worker holds tokens[worker]
	n           int            // for fresh names
}

func newWorld(t *testing.T) *world {
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) { c.ThirdPartyAuth = true })
	w := &world{ts: ts, users: map[who]string{}}
	subs := []core.EventSubscription{{Source: srcA, Types: []string{"push"}}, {Source: srcB, Types: []string{"push"}}}
	ts.createProject("alpha", subs...)
	ts.createProject("beta", subs...)

	reads := grant{role: "READER"}
	w.tokens[root] = ts.root
	w.tokens[admin] = w.serviceAccount("admin", grant{role: "ADMIN"})
	w.users[reader] = "reader@example.com"
	w.tokens[reader] = w.user("reader@example.com", reads)
	w.tokens[projectCreator] = w.serviceAccount("creator", grant{role: "PROJECT_CREATOR"})
	w.users[projAdmin] = "pa@example.com"
	w.tokens[projAdmin] = w.user("pa@example.com", reads, grant{role: "PROJECT_ADMIN", project: "alpha"})
	w.tokens[projDev] = w.serviceAccount("pdev", reads, grant{role: "PROJECT_DEVELOPER", project: "alpha"})
	w.users[projUser] = "pu@example.com"
	w.tokens[projUser] = w.user("pu@example.com", reads, grant{role: "PROJECT_USER", project: "alpha"})
	w.tokens[otherAdmin] = w.serviceAccount("other-pa", reads, grant{role: "PROJECT_ADMIN", project: "beta"})
	w.users[otherDev] = "other-pd@example.com"
	w.tokens[otherDev] = w.user("other-pd@example.com", reads, grant{role: "PROJECT_DEVELOPER", project: "beta"})
	w.tokens[otherUser] = w.serviceAccount("other-pu", reads, grant{role: "PROJECT_USER", project: "beta"})
	w.tokens[eventCreator] = w.serviceAccount("gw-a", grant{role: "EVENT_CREATOR", scope: srcA})
	w.tokens[otherEventCreator] = w.serviceAccount("gw-b", grant{role: "EVENT_CREATOR", scope: srcB})
	w.tokens[scheduler] = schedulerToken
	w.tokens[observer] = observerToken
	w.tokens[lockedSA] = w.serviceAccount("locked", grant{role: "ADMIN"}, reads)
	ts.expect(http.StatusOK, "PUT", "/v2/service-accounts/locked/lock", ts.root, nil)
	w.tokens[lockedUser] = w.user("locked@example.com", grant{role: "ADMIN"}, reads)
	ts.expect(http.StatusOK, "PUT", "/v2/users/locked@example.com/lock", ts.root, nil)

	// With git, so that the worker may write its "vcs" log.
	evs := ts.createEvents(eventBody(srcA, "push", map[string]any{"projectID": "alpha",
		"git": map[string]any{"cloneURL": "https://example.com/repo.git"}}))
	w.workerEvent = evs[0].Metadata.ID
	w.tokens[worker] = ts.startWorker(w.workerEvent)
	ts.setWorkerPhase(w.workerEvent, core.PhaseRunning)
	return w
}

func (w *world) fresh(prefix string) string {
	w.n++
	return fmt.Sprintf("%s-%d", prefix, w.n)
}

func (w *world) grantAll(typ core.PrincipalType, id string, grants []grant) {
	for _, g := range grants {
		ref := map[string]any{"type": typ, "id": id}
		if g.project != "" {
			w.ts.expect(http.StatusOK, "POST", "/v2/projects/"+g.project+"/role-assignments", w.ts.root,
				map[string]any{"apiVersion": core.APIVersion, "kind": "ProjectRoleAssignment", "role": g.role, "principal": ref})
			continue
		}
		body := map[string]any{"apiVersion": core.APIVersion, "kind": "RoleAssignment", "role": g.role, "principal": ref}
		if g.scope != "" {
			body["scope"] = g.scope
		}
		w.ts.expect(http.StatusOK, "POST", "/v2/role-assignments", w.ts.root, body)
	}
}

// serviceAccount creates a service account with grants and returns its
// token.
func (w *world) serviceAccount(id string, grants ...grant) string {
	w.ts.t.Helper()
	var tok core.Token
	w.ts.expect(http.StatusCreated, "POST", "/v2/service-accounts", w.ts.root, saBody(id)).into(w.ts.t, &tok)
	w.grantAll(core.PrincipalTypeServiceAccount, id, grants)
	return tok.Value
}

func saBody(id string) map[string]any {
	return map[string]any{"apiVersion": core.APIVersion, "kind": "ServiceAccount",
		"metadata": map[string]any{"id": id}, "description": "service account " + id}
}

// user creates a user as a first third-party login would, with grants,
// and returns the token of a session of it.
func (w *world) user(id string, grants ...grant) string {
	w.ts.t.Helper()
	svc := w.ts.srv.Service()
	if _, err := svc.EnsureUser(w.ts.t.Context(), id, "User "+id); err != nil {
		w.ts.t.Fatalf("creating user %s: %v", id, err)
	}
	w.grantAll(core.PrincipalTypeUser, id, grants)
	tok, err := svc.StartUserSession(w.ts.t.Context(), id)
	if err != nil {
		w.ts.t.Fatalf("starting a session of %s: %v", id, err)
	}
	return tok.Value
}

// newSession logs a session-holding kind in again.
func (w *world) newSession(k who) string {
	if k == root {
		return w.ts.login()
	}
	tok, err := w.ts.srv.Service().StartUserSession(w.ts.t.Context(), w.users[k])
	if err != nil {
		w.ts.t.Fatalf("logging %s in again: %v", whoNames[k], err)
	}
	return tok.Value
}

// event creates an event of a project from a source and returns its id.
func (w *world) event(project, source string) string {
	evs := w.ts.createEvents(eventBody(source, "push", map[string]any{"projectID": project}))
	if len(evs) != 1 {
		w.ts.t.Fatalf("an event for %s made %d events", project, len(evs))
	}
	return evs[0].Metadata.ID
}

func (w *world) finishedEvent() string {
	id := w.event("alpha", srcA)
	w.ts.setWorkerPhase(id, core.PhaseSucceeded)
	return id
}

func (w *world) runningEvent() string {
	id := w.event("alpha", srcA)
	w.ts.startWorker(id)
	w.ts.setWorkerPhase(id, core.PhaseRunning)
	return id
}

// job creates a job of the worker's event and returns its path.
func (w *world) job() string {
	name := w.fresh("job")
	w.ts.expect(http.StatusCreated, "POST", "/v2/events/"+w.workerEvent+"/worker/jobs", w.tokens[worker], jobBody(name, nil))
	return "/v2/events/" + w.workerEvent + "/worker/jobs/" + name
}

func (w *world) runningJob() string {
	p := w.job()
	name := p[len("/v2/events/"+w.workerEvent+"/worker/jobs/"):]
	w.ts.startJob(w.workerEvent, name)
	w.ts.expect(http.StatusOK, "PUT", p+"/status", observerToken, statusBody("JobStatus", core.PhaseRunning))
	return p
}

func (w *world) victimSA() string {
	id := w.fresh("victim")
	w.ts.expect(http.StatusCreated, "POST", "/v2/service-accounts", w.ts.root, saBody(id))
	return id
}

func (w *world) victimUser() string {
	id := w.fresh("victim") + "@example.com"
	if _, err := w.ts.srv.Service().EnsureUser(w.ts.t.Context(), id, "Victim"); err != nil {
		w.ts.t.Fatal(err)
	}
	return id
}

func roleBody(kind, role, saID string) map[string]any {
	return map[string]any{"apiVersion": core.APIVersion, "kind": kind, "role": role,
		"principal": map[string]any{"type": "SERVICE_ACCOUNT", "id": saID}}
}

// cell is one request of the matrix.
type cell struct {
	name  string
	ok    int   // the status of a caller that may
	allow []who // who may; the rest get 403 (401 if not authenticated)
	open  bool  // no authentication: everybody gets ok
	// want, if set, replaces the rule above.
	want func(who) int
	req  func(w *world) (method, path string, body any)
}

func (c cell) expected(k who) int {
	switch {
	case c.want != nil:
		return c.want(k)
	case c.open:
		return c.ok
	case k == anonymous || k == lockedUser:
		return http.StatusUnauthorized
	case slices.Contains(c.allow, k):
		return c.ok
	}
	return http.StatusForbidden
}

func fixed(method, path string, body any) func(*world) (string, string, any) {
	return func(*world) (string, string, any) { return method, path, body }
}

func of(ks ...who) []who { return ks }

// matrix is every endpoint the server serves, in an order that keeps the
// world intact until its last row.
func matrix() []cell {
	const ok, created = http.StatusOK, http.StatusCreated
	v := core.APIVersion
	return []cell{
		{name: "healthz", ok: ok, open: true, req: fixed("GET", "/healthz", nil)},
		{name: "ping", ok: ok, open: true, req: fixed("GET", "/ping", nil)},
		{name: "v2 ping", ok: ok, open: true, req: fixed("GET", "/v2/ping", nil)},
		{name: "third-party login", ok: http.StatusNotImplemented, open: true, req: fixed("POST", "/v2/sessions", nil)},
		{name: "root login without credentials", ok: http.StatusBadRequest, open: true, req: fixed("POST", "/v2/sessions?root=true", nil)},
		{name: "unknown path", ok: http.StatusNotFound, open: true, req: fixed("GET", "/v2/nothing-here", nil)},
		{name: "wrong method", ok: http.StatusMethodNotAllowed, open: true, req: fixed("PATCH", "/v2/projects", nil)},
		{name: "whoami", ok: ok, allow: identified, req: fixed("GET", "/v2/whoami", nil)},
		// The generic gateway's v1 webhooks authenticate by the project's
		// secret in the path, not by token (gateway_generic_test.go).
		{name: "generic simple event", ok: http.StatusBadRequest, open: true, req: fixed("POST", "/simpleevents/v1/nobody/x", "{}")},
		{name: "generic CloudEvent 0.2", ok: http.StatusBadRequest, open: true, req: fixed("POST", "/cloudevents/v02/nobody/x", "{}")},

		// Projects and secrets.
		{name: "list projects", ok: ok, allow: readers, req: fixed("GET", "/v2/projects", nil)},
		{name: "get project", ok: ok, allow: readers, req: fixed("GET", "/v2/projects/alpha", nil)},
		{name: "create project", ok: created, allow: of(root, projectCreator), req: func(w *world) (string, string, any) {
			return "POST", "/v2/projects", projectBody(w.fresh("project"))
		}},
		{name: "update project", ok: ok, allow: of(root, projDev), req: fixed("PUT", "/v2/projects/alpha",
			projectBody("alpha", core.EventSubscription{Source: srcA, Types: []string{"push"}},
				core.EventSubscription{Source: srcB, Types: []string{"push"}}))},
		{name: "list secrets", ok: ok, allow: readers, req: fixed("GET", "/v2/projects/alpha/secrets", nil)},
		{name: "set secret", ok: ok, allow: of(root, projAdmin), req: fixed("PUT", "/v2/projects/alpha/secrets/token",
			map[string]any{"apiVersion": v, "kind": "Secret", "key": "token", "value": "s3cret"})},
		{name: "unset secret", ok: ok, allow: of(root, projAdmin), req: fixed("DELETE", "/v2/projects/alpha/secrets/token", nil)},
		// EVENT_CREATOR for brigade.sh/generic (the generic gateway's
		// token), or ADMIN.
		{name: "verify generic gateway secret", ok: ok, allow: admins, req: fixed("POST",
			"/v2/projects/alpha/generic-gateway-secret/verifications",
			map[string]any{"apiVersion": v, "kind": "GenericGatewaySecretVerification", "value": "guess"})},

		// Events.
		{name: "create event for the project", ok: created, allow: of(root, projUser, eventCreator),
			req: fixed("POST", "/v2/events", eventBody(srcA, "push", map[string]any{"projectID": "alpha"}))},
		{name: "create event from a source", ok: created, allow: of(root, otherEventCreator),
			req: fixed("POST", "/v2/events", eventBody(srcB, "push", nil))},
		{name: "list events", ok: ok, allow: readers, req: fixed("GET", "/v2/events?projectID=alpha", nil)},
		{name: "get event", ok: ok, allow: readers, req: func(w *world) (string, string, any) {
			return "GET", "/v2/events/" + w.workerEvent, nil
		}},
		{name: "clone event", ok: created, allow: of(root, projUser, eventCreator), req: func(w *world) (string, string, any) {
			return "POST", "/v2/events/" + w.workerEvent + "/clones", nil
		}},
		{name: "retry event", ok: created, allow: of(root, projUser, eventCreator), req: func(w *world) (string, string, any) {
			return "POST", "/v2/events/" + w.finishedEvent() + "/retries", nil
		}},
		{name: "update source state", ok: ok, allow: of(root, eventCreator), req: func(w *world) (string, string, any) {
			return "PUT", "/v2/events/" + w.workerEvent + "/source-state",
				map[string]any{"apiVersion": v, "kind": "SourceState", "state": map[string]string{"cursor": "v"}}
		}},
		{name: "update summary", ok: ok, allow: of(worker), req: func(w *world) (string, string, any) {
			return "PUT", "/v2/events/" + w.workerEvent + "/summary", map[string]any{"apiVersion": v, "kind": "EventSummary", "text": "done"}
		}},
		{name: "cancel event", ok: ok, allow: of(root, projUser), req: func(w *world) (string, string, any) {
			return "PUT", "/v2/events/" + w.event("alpha", srcA) + "/cancellation", nil
		}},
		{name: "cancel events", ok: ok, allow: of(root, projUser),
			req: fixed("POST", "/v2/events/cancellations?projectID=alpha&workerPhases=TIMED_OUT", nil)},
		{name: "delete event", ok: ok, allow: of(root, projUser), req: func(w *world) (string, string, any) {
			return "DELETE", "/v2/events/" + w.event("alpha", srcA), nil
		}},
		{name: "delete events", ok: ok, allow: of(root, projUser),
			req: fixed("DELETE", "/v2/events?projectID=alpha&workerPhases=TIMED_OUT", nil)},
		{name: "logs of an event", ok: ok, allow: of(root, projUser, eventCreator), req: func(w *world) (string, string, any) {
			return "GET", "/v2/events/" + w.finishedEvent() + "/logs", nil
		}},
		{name: "logs of the worker's event", ok: ok, allow: of(root, projUser, eventCreator, worker), req: func(w *world) (string, string, any) {
			return "GET", "/v2/events/" + w.workerEvent + "/logs", nil
		}},
		{name: "the worker's secrets", ok: ok, allow: of(worker), req: func(w *world) (string, string, any) {
			return "GET", "/v2/events/" + w.workerEvent + "/worker/secrets", nil
		}},
		{name: "audit log", ok: ok, allow: admins, req: fixed("GET", "/v2/audit", nil)},
		{name: "third-party login callback", ok: http.StatusNotImplemented, open: true, req: fixed("GET", "/v2/session/auth?state=s&code=c", nil)},
		{name: "append worker log", ok: ok, allow: of(worker), req: func(w *world) (string, string, any) {
			return "POST", "/v2/events/" + w.workerEvent + "/logs?container=vcs",
				map[string]any{"apiVersion": v, "kind": "LogLines", "lines": []map[string]string{{"message": "hi"}}}
		}},

		// Workers and jobs.
		{name: "start worker", ok: ok, allow: of(scheduler), req: func(w *world) (string, string, any) {
			return "PUT", "/v2/events/" + w.event("alpha", srcA) + "/worker/start", nil
		}},
		{name: "get worker status", ok: ok, allow: readers, req: func(w *world) (string, string, any) {
			return "GET", "/v2/events/" + w.workerEvent + "/worker/status", nil
		}},
		{name: "update worker status", ok: ok, allow: of(observer), req: func(w *world) (string, string, any) {
			return "PUT", "/v2/events/" + w.event("alpha", srcA) + "/worker/status", statusBody("WorkerStatus", core.PhaseRunning)
		}},
		{name: "clean up worker", ok: ok, allow: of(observer), req: func(w *world) (string, string, any) {
			return "PUT", "/v2/events/" + w.finishedEvent() + "/worker/cleanup", nil
		}},
		{name: "time out worker", ok: ok, allow: of(observer), req: func(w *world) (string, string, any) {
			return "PUT", "/v2/events/" + w.runningEvent() + "/worker/timeout", nil
		}},
		{name: "create job", ok: created, allow: of(worker), req: func(w *world) (string, string, any) {
			return "POST", "/v2/events/" + w.workerEvent + "/worker/jobs", jobBody(w.fresh("job"), nil)
		}},
		{name: "start job", ok: ok, allow: of(scheduler), req: func(w *world) (string, string, any) {
			return "PUT", w.job() + "/start", nil
		}},
		{name: "get job status", ok: ok, allow: readers, req: func(w *world) (string, string, any) {
			return "GET", w.job() + "/status", nil
		}},
		{name: "update job status", ok: ok, allow: of(observer), req: func(w *world) (string, string, any) {
			return "PUT", w.job() + "/status", statusBody("JobStatus", core.PhaseRunning)
		}},
		{name: "clean up job", ok: ok, allow: of(observer), req: func(w *world) (string, string, any) {
			return "PUT", w.job() + "/cleanup", nil
		}},
		{name: "time out job", ok: ok, allow: of(observer), req: func(w *world) (string, string, any) {
			return "PUT", w.runningJob() + "/timeout", nil
		}},
		{name: "running workers", ok: ok, allow: readers, req: fixed("GET", "/v2/substrate/running-workers", nil)},
		{name: "running jobs", ok: ok, allow: readers, req: fixed("GET", "/v2/substrate/running-jobs", nil)},

		// Users.
		{name: "list users", ok: ok, allow: readers, req: fixed("GET", "/v2/users", nil)},
		{name: "get user", ok: ok, allow: readers, req: fixed("GET", "/v2/users/READER@example.com", nil)},
		{name: "lock user", ok: ok, allow: admins, req: func(w *world) (string, string, any) {
			return "PUT", "/v2/users/" + w.victimUser() + "/lock", nil
		}},
		{name: "unlock user", ok: ok, allow: admins, req: func(w *world) (string, string, any) {
			return "DELETE", "/v2/users/" + w.victimUser() + "/lock", nil
		}},
		{name: "delete user", ok: ok, allow: admins, req: func(w *world) (string, string, any) {
			return "DELETE", "/v2/users/" + w.victimUser(), nil
		}},

		// Service accounts.
		{name: "create service account", ok: created, allow: admins, req: func(w *world) (string, string, any) {
			return "POST", "/v2/service-accounts", saBody(w.fresh("sa"))
		}},
		{name: "list service accounts", ok: ok, allow: readers, req: fixed("GET", "/v2/service-accounts", nil)},
		{name: "get service account", ok: ok, allow: readers, req: fixed("GET", "/v2/service-accounts/gw-a", nil)},
		{name: "lock service account", ok: ok, allow: admins, req: func(w *world) (string, string, any) {
			return "PUT", "/v2/service-accounts/" + w.victimSA() + "/lock", nil
		}},
		{name: "unlock service account", ok: ok, allow: admins, req: func(w *world) (string, string, any) {
			return "DELETE", "/v2/service-accounts/" + w.victimSA() + "/lock", nil
		}},
		{name: "delete service account", ok: ok, allow: admins, req: func(w *world) (string, string, any) {
			return "DELETE", "/v2/service-accounts/" + w.victimSA(), nil
		}},

		// Role assignments.
		{name: "grant role", ok: ok, allow: admins, req: func(w *world) (string, string, any) {
			return "POST", "/v2/role-assignments", roleBody("RoleAssignment", "READER", w.victimSA())
		}},
		{name: "list roles", ok: ok, allow: readers, req: fixed("GET", "/v2/role-assignments", nil)},
		{name: "revoke role", ok: ok, allow: admins, req: func(w *world) (string, string, any) {
			return "DELETE", "/v2/role-assignments?role=READER&principalType=SERVICE_ACCOUNT&principalID=" + w.victimSA(), nil
		}},
		{name: "grant project role", ok: ok, allow: of(root, projAdmin), req: func(w *world) (string, string, any) {
			return "POST", "/v2/projects/alpha/role-assignments", roleBody("ProjectRoleAssignment", "PROJECT_USER", w.victimSA())
		}},
		{name: "list project roles", ok: ok, allow: readers, req: fixed("GET", "/v2/projects/alpha/role-assignments", nil)},
		{name: "list all project roles", ok: ok, allow: readers, req: fixed("GET", "/v2/project-role-assignments", nil)},
		{name: "revoke project role", ok: ok, allow: of(root, projAdmin), req: func(w *world) (string, string, any) {
			return "DELETE", "/v2/projects/alpha/role-assignments?role=PROJECT_USER&principalType=SERVICE_ACCOUNT&principalID=" + w.victimSA(), nil
		}},

		// A dashboard sign-in code is for a person's session only (our
		// addition, docs/api.md): other tokens are refused.
		{name: "dashboard sign-in code", want: func(k who) int {
			switch k {
			case anonymous, lockedUser:
				return http.StatusUnauthorized
			case root, reader, projAdmin, projUser, otherDev:
				return http.StatusCreated
			}
			return http.StatusForbidden
		}, req: fixed("POST", "/v2/session/sign-in-codes", nil)},
		// Logging out needs a session of one's own; other tokens get a 400
		// (Brigade answers 500). Whoever logged out logs in again.
		{name: "log out", want: func(k who) int {
			switch k {
			case anonymous, lockedUser:
				return http.StatusUnauthorized
			case lockedSA:
				return http.StatusForbidden
			case root, reader, projAdmin, projUser, otherDev:
				return http.StatusOK
			}
			return http.StatusBadRequest
		}, req: fixed("DELETE", "/v2/session", nil)},
		// Last: it takes the world with it.
		{name: "delete project", ok: ok, allow: of(root, projAdmin), req: fixed("DELETE", "/v2/projects/alpha", nil)},
	}
}

// TestAuthorizationMatrix runs every endpoint as every kind of caller and
// checks the status: each endpoint asks for exactly the role docs/api.md
// names, a locked account is refused, and nobody gets in without a token.
func TestAuthorizationMatrix(t *testing.T) {
	cells := matrix()
	for k := range whoCount {
		t.Run(whoNames[k], func(t *testing.T) {
			w := newWorld(t)
			for _, c := range cells {
				method, path, body := c.req(w)
				token := w.tokens[k]
				r := w.ts.do(method, path, token, body)
				if want := c.expected(k); r.Status != want {
					t.Errorf("%s (%s %s) as %s: got %d, want %d: %s", c.name, method, path, whoNames[k], r.Status, want, r.Body)
				}
				if c.name == "log out" && r.Status == http.StatusOK {
					w.tokens[k] = w.newSession(k)
				}
			}
		})
	}
}
