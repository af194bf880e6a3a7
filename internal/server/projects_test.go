package server_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func TestProjects(t *testing.T) {
	ts := newTestServer(t)

	t.Run("CreateStampsCreatedAndNamespace", func(t *testing.T) {
		var p core.Project
		ts.expect(201, "POST", "/v2/projects", ts.root, projectBody("alpha")).into(t, &p)
		if p.Metadata.Created == nil || p.Kubernetes == nil || !strings.HasPrefix(p.Kubernetes.Namespace, "brigade-") {
			t.Fatalf("created project %+v", p)
		}
		if p.Spec.WorkerTemplate.DefaultConfigFiles["brigade.js"] == "" {
			t.Fatal("worker template lost")
		}
	})
	t.Run("DuplicateIs409", func(t *testing.T) {
		ts.expectError(409, "ConflictError", "POST", "/v2/projects", ts.root, projectBody("alpha"))
	})
	t.Run("GetAndMissingIs404", func(t *testing.T) {
		m := ts.expect(200, "GET", "/v2/projects/alpha", ts.root, nil).json(t)
		if m["kind"] != "Project" {
			t.Fatalf("get %v", m)
		}
		nf := ts.expectError(404, "NotFoundError", "GET", "/v2/projects/nope", ts.root, nil)
		if nf["type"] != "Project" || nf["id"] != "nope" {
			t.Fatalf("404 body %v", nf)
		}
	})
	t.Run("ValidationListsEveryProblem", func(t *testing.T) {
		bad := projectBody("Bad_ID")
		bad["spec"].(map[string]any)["workerTemplate"].(map[string]any)["logLevel"] = "LOUD"
		delete(bad, "kind")
		m := ts.expectError(400, "BadRequestError", "POST", "/v2/projects", ts.root, bad)
		details := fmt.Sprint(m["details"])
		for _, want := range []string{"kind", "metadata.id", "logLevel"} {
			if !strings.Contains(details, want) {
				t.Errorf("details %s do not mention %s", details, want)
			}
		}
		if m["reason"] != "Request body failed JSON validation" {
			t.Fatalf("reason %v", m["reason"])
		}
		ts.expectError(400, "BadRequestError", "POST", "/v2/projects", ts.root, "{not json")
		ts.expectError(400, "BadRequestError", "POST", "/v2/projects", ts.root, "")
		// metadata may only hold id
		withCreated := projectBody("beta")
		withCreated["metadata"] = map[string]any{"id": "beta", "created": "2023-01-01T00:00:00Z"}
		ts.expectError(400, "BadRequestError", "POST", "/v2/projects", ts.root, withCreated)
		ts.expectError(404, "NotFoundError", "GET", "/v2/projects/beta", ts.root, nil)
	})
	t.Run("BodyOverLimitIs413", func(t *testing.T) {
		big := projectBody("huge")
		big["description"] = strings.Repeat("x", 70<<10)
		r := ts.expect(413, "POST", "/v2/projects", ts.root, big)
		if !strings.Contains(string(r.Body), "limit") {
			t.Fatalf("413 body %s", r.Body)
		}
		ts.expectError(404, "NotFoundError", "GET", "/v2/projects/huge", ts.root, nil)
	})
	t.Run("ListPaginates", func(t *testing.T) {
		for _, id := range []string{"p-one", "p-two", "p-three", "p-four"} {
			ts.createProject(id)
		}
		var ids []string
		cont := ""
		pages := 0
		for {
			var page struct {
				Kind     string
				Metadata core.ListMeta
				Items    []core.Project
			}
			ts.expect(200, "GET", "/v2/projects?limit=2&continue="+cont, ts.root, nil).into(t, &page)
			pages++
			for _, p := range page.Items {
				ids = append(ids, p.Metadata.ID)
			}
			if (page.Metadata.Continue == "") != (page.Metadata.RemainingItemCount == 0) {
				t.Fatalf("continue %q inconsistent with remaining %d", page.Metadata.Continue, page.Metadata.RemainingItemCount)
			}
			if page.Metadata.Continue == "" {
				break
			}
			cont = page.Metadata.Continue
		}
		want := "alpha p-four p-one p-three p-two"
		if strings.Join(ids, " ") != want || pages != 3 {
			t.Fatalf("paged ids %v in %d pages, want %s", ids, pages, want)
		}
		for _, bad := range []string{"0", "101", "x"} {
			m := ts.expectError(400, "BadRequestError", "GET", "/v2/projects?limit="+bad, ts.root, nil)
			if !strings.Contains(m["reason"].(string), "limit") {
				t.Fatalf("limit error %v", m)
			}
		}
	})
	t.Run("Update", func(t *testing.T) {
		upd := projectBody("alpha")
		upd["description"] = "changed"
		var p core.Project
		ts.expect(200, "PUT", "/v2/projects/alpha", ts.root, upd).into(t, &p)
		if p.Description != "changed" || p.Metadata.Created == nil {
			t.Fatalf("updated %+v", p)
		}
		ts.expectError(400, "BadRequestError", "PUT", "/v2/projects/other", ts.root, upd)
		ts.expectError(404, "NotFoundError", "PUT", "/v2/projects/gamma", ts.root, projectBody("gamma"))
		ts.expect(200, "PUT", "/v2/projects/gamma?create=true", ts.root, projectBody("gamma"))
		ts.expect(200, "GET", "/v2/projects/gamma", ts.root, nil)
	})
	t.Run("WrongRoleIs403", func(t *testing.T) {
		ts.expectError(403, "AuthorizationError", "POST", "/v2/projects", schedulerToken, projectBody("sched"))
		ts.expectError(403, "AuthorizationError", "DELETE", "/v2/projects/alpha", observerToken, nil)
	})
	t.Run("SecretsAreWriteOnly", func(t *testing.T) {
		sec := func(k, v string) map[string]any {
			return map[string]any{"apiVersion": core.APIVersion, "kind": "Secret", "key": k, "value": v}
		}
		ts.expect(200, "PUT", "/v2/projects/alpha/secrets/token", ts.root, sec("token", "t0k"))
		ts.expect(200, "PUT", "/v2/projects/alpha/secrets/apiKey", ts.root, sec("apiKey", "k1"))
		ts.expect(200, "PUT", "/v2/projects/alpha/secrets/apiKey", ts.root, sec("apiKey", "k2"))
		r := ts.expect(200, "GET", "/v2/projects/alpha/secrets", ts.root, nil)
		if strings.Contains(string(r.Body), "k2") || strings.Contains(string(r.Body), "t0k") {
			t.Fatalf("secret values leaked: %s", r.Body)
		}
		var list struct {
			Kind  string
			Items []core.Secret
		}
		r.into(t, &list)
		if list.Kind != "SecretList" || len(list.Items) != 2 || list.Items[0].Key != "apiKey" {
			t.Fatalf("secrets %s", r.Body)
		}
		// The values leave the server only for the event's own worker, which
		// fetches them (workersecrets_test.go); its event.json holds none.
		src := "example.com/secrets"
		ts.expect(200, "PUT", "/v2/projects/alpha", ts.root, projectBody("alpha", core.EventSubscription{Source: src, Types: []string{"*"}}))
		id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
		_, doc := ts.launchWorker(id)
		if doc.Project.Secrets != nil || !doc.Worker.SecretsFromAPI {
			t.Fatalf("secrets in event.json %v (fetched from the API: %v)", doc.Project.Secrets, doc.Worker.SecretsFromAPI)
		}
		var got struct{ Secrets map[string]string }
		ts.expect(200, "GET", "/v2/events/"+id+"/worker/secrets", doc.Worker.APIToken, nil).into(t, &got)
		if !maps.Equal(got.Secrets, map[string]string{"apiKey": "k2", "token": "t0k"}) {
			t.Fatalf("the worker fetched %v", got.Secrets)
		}
		ts.expectError(400, "BadRequestError", "PUT", "/v2/projects/alpha/secrets/other", ts.root, sec("apiKey", "x"))
		ts.expectError(400, "BadRequestError", "PUT", "/v2/projects/alpha/secrets/bad", ts.root, sec("1bad", "x"))
		ts.expectError(404, "NotFoundError", "PUT", "/v2/projects/nope/secrets/k", ts.root, sec("k", "x"))
		ts.expect(200, "DELETE", "/v2/projects/alpha/secrets/token", ts.root, nil)
		ts.expect(200, "DELETE", "/v2/projects/alpha/secrets/never-set", ts.root, nil)
		ts.expectError(404, "NotFoundError", "GET", "/v2/projects/nope/secrets", ts.root, nil)
	})
	t.Run("DeleteCascades", func(t *testing.T) {
		ts.createProject("doomed", core.EventSubscription{Source: "example.com/x", Types: []string{"*"}})
		evs := ts.createEvents(eventBody("example.com/x", "t", nil))
		r := ts.expect(200, "DELETE", "/v2/projects/doomed", ts.root, nil)
		if string(r.Body) != "null" {
			t.Fatalf("delete body %q", r.Body)
		}
		ts.expectError(404, "NotFoundError", "GET", "/v2/projects/doomed", ts.root, nil)
		ts.expectError(404, "NotFoundError", "GET", "/v2/events/"+evs[0].Metadata.ID, ts.root, nil)
		if !slices.Contains(ts.cleanupsDue(time.Now()), evs[0].Metadata.ID) {
			t.Fatal("deleting the project did not schedule the cleanup of its event for now")
		}
		ts.expectError(404, "NotFoundError", "DELETE", "/v2/projects/doomed", ts.root, nil)
	})
}

// TestEventFileOfAProjectWithoutSecrets: a project without secrets spares
// its workers the request for them: event.json says there are none.
func TestEventFileOfAProjectWithoutSecrets(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/plain"
	ts.createProject("plain", core.EventSubscription{Source: src, Types: []string{"*"}})
	id := ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID
	_, doc := ts.launchWorker(id)
	if doc.Worker.SecretsFromAPI || doc.Project.Secrets == nil || len(doc.Project.Secrets) != 0 {
		t.Fatalf("event.json of a project without secrets: secrets %v, fetched from the API: %v", doc.Project.Secrets, doc.Worker.SecretsFromAPI)
	}
}
