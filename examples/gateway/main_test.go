package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// TestDeployHookGateway runs the example gateway against a real server,
// with a service account that may create events of its source only, as
// docs/gateways.md "Writing a gateway" sets it up.
func TestDeployHookGateway(t *testing.T) {
	srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: "gateway-example"})
	root, err := testenv.RootClient(t.Context(), srv, "gateway-example")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tok, err := root.CreateServiceAccount(ctx, "deploy-hook", "the example gateway")
	if err != nil {
		t.Fatal(err)
	}
	sa := core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: "deploy-hook"}
	for _, a := range []core.RoleAssignment{{Role: "EVENT_CREATOR", Principal: sa, Scope: Source}, {Role: "READER", Principal: sa}} {
		if err := root.GrantRole(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := root.CreateProject(ctx, &core.Project{
		Metadata: core.ObjectMeta{ID: "billing-smoke-tests"},
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: Source, Types: []string{"deployed"},
				Qualifiers: map[string]string{"service": "billing"}}},
			WorkerTemplate: core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": "console.log('smoke')"}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	cfg := config{apiAddress: "http://" + srv.Addr(), apiToken: tok.Value, hookToken: "hook-token-for-tests",
		http: &http.Client{Timeout: time.Minute}}
	gw := httptest.NewServer(handler(cfg))
	defer gw.Close()

	post := func(token, body string) (int, string) {
		req, _ := http.NewRequest("POST", gw.URL+"/hook", strings.NewReader(body))
		req.Header.Set("X-Hook-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	notice := `{"id":"d-1234","kind":"deployed","service":"billing","version":"1.2.3"}`
	status, first := post("hook-token-for-tests", notice)
	var ids struct{ EventIDs []string }
	if err := json.Unmarshal([]byte(first), &ids); status != 200 || err != nil || len(ids.EventIDs) != 1 {
		t.Fatalf("first notice: %d %s", status, first)
	}
	if status, again := post("hook-token-for-tests", notice); status != 200 || again != first {
		t.Fatalf("the same notice again: %d %s; want the first answer %s", status, again, first)
	}
	evs, err := root.ListEvents(ctx, &client.EventSelector{Source: Source}, nil)
	if err != nil || len(evs.Items) != 1 || evs.Items[0].ProjectID != "billing-smoke-tests" || evs.Items[0].Type != "deployed" {
		t.Fatalf("events after two notices: %+v, %v; want one for billing-smoke-tests", evs, err)
	}
	for name, c := range map[string]struct {
		token, body string
		status      int
	}{
		"WrongToken":     {"nope", notice, 403},
		"NotJSON":        {"hook-token-for-tests", "{", 400},
		"KindWithSpaces": {"hook-token-for-tests", `{"id":"d-2","kind":"was deployed","service":"billing"}`, 400},
		"TooLarge":       {"hook-token-for-tests", `{"id":"` + strings.Repeat("x", maxBody) + `"}`, 413},
	} {
		t.Run(name, func(t *testing.T) {
			if status, body := post(c.token, c.body); status != c.status {
				t.Fatalf("%d %s; want %d", status, body, c.status)
			}
		})
	}
	t.Run("AnUnknownTokenIsRefusedByTheAPI", func(t *testing.T) {
		bad := cfg
		bad.apiToken = "not-a-token"
		g := httptest.NewServer(handler(bad))
		defer g.Close()
		req, _ := http.NewRequest("POST", g.URL+"/hook", strings.NewReader(`{"id":"d-3","kind":"deployed","service":"billing"}`))
		req.Header.Set("X-Hook-Token", "hook-token-for-tests")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("%d; want 502 when the API refuses the gateway", resp.StatusCode)
		}
	})
}
