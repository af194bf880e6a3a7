package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

// auditLog reads the whole audit log as root, newest first, following the
// cursor; query adds filters.
func (ts *testServer) auditLog(query url.Values) []core.AuditEntry {
	ts.t.Helper()
	var out []core.AuditEntry
	if query == nil {
		query = url.Values{}
	}
	query.Set("limit", "3")
	for {
		var page struct {
			Kind     string
			Metadata core.ListMeta
			Items    []core.AuditEntry
		}
		ts.expect(http.StatusOK, "GET", "/v2/audit?"+query.Encode(), ts.root, nil).into(ts.t, &page)
		if page.Kind != "AuditEntryList" {
			ts.t.Fatalf("audit list kind %q", page.Kind)
		}
		out = append(out, page.Items...)
		if page.Metadata.Continue == "" {
			return out
		}
		query.Set("continue", page.Metadata.Continue)
	}
}

// TestAuditLog: every state-changing call, made by each kind of principal,
// leaves one entry naming who, what, on which object and how it ended;
// reads leave none; failed logins and refused calls are there too; only an
// admin reads the log, and no secret value or token reaches it.
func TestAuditLog(t *testing.T) {
	ts := newTestServer(t)
	seen := int64(0)
	if all := ts.auditLog(nil); len(all) > 0 {
		seen = all[0].ID
	}
	type want struct {
		kind, id, action, object string
		status                   int
		failed                   bool
	}
	// next checks the entries made since the last call, oldest first.
	next := func(step string, wants ...want) {
		t.Helper()
		all := ts.auditLog(nil)
		var fresh []core.AuditEntry
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].ID > seen {
				fresh = append(fresh, all[i])
			}
		}
		if len(all) > 0 {
			seen = max(seen, all[0].ID)
		}
		if len(fresh) != len(wants) {
			t.Fatalf("%s: %d new entries, want %d: %+v", step, len(fresh), len(wants), fresh)
		}
		for i, w := range wants {
			e := fresh[i]
			if e.Principal.Kind != w.kind || e.Principal.ID != w.id || e.Action != w.action || e.Object != w.object ||
				e.Status != w.status || (e.Error != "") != w.failed || e.Client != "127.0.0.1" || e.Time.IsZero() {
				t.Fatalf("%s: entry %+v, want %+v", step, e, w)
			}
		}
	}
	next("reads before")

	ts.expect(201, "POST", "/v2/projects", ts.root, projectBody("proj1",
		core.EventSubscription{Source: "tests", Types: []string{"t"}}))
	next("project create", want{"ROOT", "root", "POST /v2/projects", "projects/proj1", 201, false})

	ts.expect(200, "GET", "/v2/projects/proj1", ts.root, nil)
	ts.expect(200, "GET", "/v2/projects/proj1/secrets", ts.root, nil)
	next("reads")

	const secretValue = "hunter2-very-secret-value"
	ts.expect(200, "PUT", "/v2/projects/proj1/secrets/K", ts.root,
		map[string]any{"apiVersion": core.APIVersion, "kind": "Secret", "key": "K", "value": secretValue})
	ts.expect(200, "DELETE", "/v2/projects/proj1/secrets/K", ts.root, nil)
	next("secrets",
		want{"ROOT", "root", "PUT /v2/projects/{id}/secrets/{key}", "projects/proj1/secrets/K", 200, false},
		want{"ROOT", "root", "DELETE /v2/projects/{id}/secrets/{key}", "projects/proj1/secrets/K", 200, false})

	ev := ts.createEvents(eventBody("tests", "t", nil))[0]
	id := ev.Metadata.ID
	next("event create", want{"ROOT", "root", "POST /v2/events", "events/" + id, 201, false})

	wt := ts.startWorker(id) // in-process, as the runner: not an API call
	ts.setWorkerPhase(id, core.PhaseRunning)
	ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("build", nil))
	ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/build/start", schedulerToken, nil)
	next("worker, observer and scheduler",
		want{"OBSERVER", "observer", "PUT /v2/events/{id}/worker/status", "events/" + id, 200, false},
		want{"WORKER", id, "POST /v2/events/{id}/worker/jobs", "events/" + id + "/worker/jobs/build", 201, false},
		want{"SCHEDULER", "scheduler", "PUT /v2/events/{id}/worker/jobs/{job}/start", "events/" + id + "/worker/jobs/build", 200, false})

	req, _ := http.NewRequest("POST", ts.url+"/v2/sessions?root=true", nil)
	req.SetBasicAuth("root", "not-the-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	second := ts.login()
	ts.expect(200, "DELETE", "/v2/session", second, nil)
	next("logins",
		want{"ANONYMOUS", "", "POST /v2/sessions", "sessions", 401, true},
		want{"ROOT", "root", "POST /v2/sessions", "sessions", 201, false},
		want{"ROOT", "root", "DELETE /v2/session", "session", 200, false})

	ts.expectError(401, "AuthenticationError", "DELETE", "/v2/projects/proj1", "", nil)
	ts.expectError(403, "AuthorizationError", "DELETE", "/v2/projects/proj1", wt, nil)
	ts.expectError(404, "NotFoundError", "DELETE", "/v2/projects/nope", ts.root, nil)
	next("refusals",
		want{"ANONYMOUS", "", "DELETE /v2/projects/{id}", "projects/proj1", 401, true},
		want{"WORKER", id, "DELETE /v2/projects/{id}", "projects/proj1", 403, true},
		want{"ROOT", "root", "DELETE /v2/projects/{id}", "projects/nope", 404, true})

	for name, tok := range map[string]string{"worker": wt, "scheduler": schedulerToken, "observer": observerToken} {
		m := ts.expectError(403, "AuthorizationError", "GET", "/v2/audit", tok, nil)
		if !strings.Contains(fmt.Sprint(m["reason"]), "ADMIN") {
			t.Errorf("%s: reason %v", name, m["reason"])
		}
	}
	ts.expectError(401, "AuthenticationError", "GET", "/v2/audit", "", nil)
	next("audit reads")

	for _, e := range ts.auditLog(nil) {
		if line := fmt.Sprintf("%+v", e); strings.Contains(line, secretValue) || strings.Contains(line, ts.root) ||
			strings.Contains(line, wt) || strings.Contains(line, rootPassword) {
			t.Fatalf("audit entry holds a secret: %s", line)
		}
	}

	t.Run("Filters", func(t *testing.T) {
		only := func(q url.Values, wantN int) []core.AuditEntry {
			t.Helper()
			got := ts.auditLog(q)
			if len(got) != wantN {
				t.Fatalf("filter %v: %d entries, want %d: %+v", q, len(got), wantN, got)
			}
			return got
		}
		only(url.Values{"principalType": {"WORKER"}, "principalID": {id}}, 2)
		only(url.Values{"object": {"projects/proj1"}}, 5)
		only(url.Values{"action": {"/secrets/"}}, 2)
		only(url.Values{"principalType": {"ANONYMOUS"}}, 2)
		first := ts.auditLog(nil)
		last := first[0].Time
		only(url.Values{"since": {last.Format("2006-01-02T15:04:05.999999999Z07:00")}}, 1)
		only(url.Values{"until": {"2000-01-01T00:00:00Z"}}, 0)
		ts.expectError(400, "BadRequestError", "GET", "/v2/audit?since=yesterday", ts.root, nil)
		ts.expectError(400, "BadRequestError", "GET", "/v2/audit?continue=x", ts.root, nil)
	})
}

// TestLoginRateLimit: failed logins from one address beyond the burst get
// 429 with Brigade's error body and Retry-After, even with the right
// password then; successful logins do not count. The rate is one an hour,
// so no token comes back while the test runs.
func TestLoginRateLimit(t *testing.T) {
	ctx := t.Context()
	srv, err := server.New(ctx, server.Config{Substrate: "none", Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		RootPassword: rootPassword, LoginRate: 1.0 / 60, LoginBurst: 2}, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, srv: srv, url: "http://" + srv.Addr()}
	done := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	attempt := func(password string) reply {
		req, _ := http.NewRequest("POST", ts.url+"/v2/sessions?root=true", nil)
		req.SetBasicAuth("root", password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	for range 5 {
		if r := attempt(rootPassword); r.Status != 201 {
			t.Fatalf("a right password: %d %s", r.Status, r.Body)
		}
	}
	for i := range 2 {
		if r := attempt("wrong"); r.Status != 401 {
			t.Fatalf("wrong password %d: %d %s", i, r.Status, r.Body)
		}
	}
	for _, pw := range []string{"wrong", rootPassword} {
		r := attempt(pw)
		m := r.json(t)
		if r.Status != 429 || m["kind"] != "TooManyRequestsError" || m["apiVersion"] != core.APIVersion ||
			!strings.Contains(fmt.Sprint(m["reason"]), "Try again in") {
			t.Fatalf("after the burst: %d %s", r.Status, r.Body)
		}
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 3600 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
	}
}
