package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
	"github.com/brigadeplatform/brigade/internal/gateway/gateways"
	"github.com/brigadeplatform/brigade/internal/server"
)

// echoGateway creates one event of its source for each POST /gateways/echo
// with the body as payload, keyed by the Delivery header.
type echoGateway struct {
	env gateway.Env
	ran chan struct{}
}

func (g *echoGateway) Name() string   { return "echo" }
func (g *echoGateway) Source() string { return "example.com/echo" }
func (g *echoGateway) Run(ctx context.Context) error {
	close(g.ran)
	return nil
}
func (g *echoGateway) Routes(bool) []gateway.Route {
	return []gateway.Route{{Pattern: "POST /gateways/echo", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := gateway.ReadBody(r, 1024)
		if errors.Is(err, gateway.ErrBodyTooLarge) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		src := g.Source()
		if s := r.URL.Query().Get("source"); s != "" {
			src = s
		}
		evs, replayed, err := g.env.API.CreateEventOnce(r.Context(), &core.Event{Source: src, Type: "echo", Payload: string(body)},
			r.Header.Get("Delivery"))
		if err != nil {
			gateway.WriteJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
			return
		}
		ids := []string{}
		for _, e := range evs {
			ids = append(ids, e.Metadata.ID)
		}
		gateway.WriteJSON(w, http.StatusOK, map[string]any{"eventIDs": ids, "replayed": replayed})
	})}}
}

// TestMountedGateway: a gateway mounted on the server creates events
// through the API with a token of its own, which may create events of its
// source only.
func TestMountedGateway(t *testing.T) {
	g := &echoGateway{ran: make(chan struct{})}
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) {
		c.Gateways = gateways.Config{Extra: []gateways.Builder{{Name: "echo", Source: "example.com/echo",
			Build: func(env gateway.Env) (gateway.Gateway, error) { g.env = env; return g, nil }}}}
	})
	<-g.ran
	ts.createProject("echoes", core.EventSubscription{Source: "example.com/echo", Types: []string{"echo"}})
	var out struct {
		EventIDs []string
		Replayed bool
	}
	post := func(query, delivery string) reply {
		req, _ := http.NewRequest("POST", ts.url+"/gateways/echo"+query, http.NoBody)
		req.Header.Set("Delivery", delivery)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	r := post("", "d1")
	r.into(t, &out)
	if r.Status != 200 || len(out.EventIDs) != 1 || out.Replayed {
		t.Fatalf("first delivery: %d %s", r.Status, r.Body)
	}
	r = post("", "d1")
	r.into(t, &out)
	if r.Status != 200 || len(out.EventIDs) != 1 || !out.Replayed {
		t.Fatalf("repeated delivery: %d %s", r.Status, r.Body)
	}
	if r := post("?source=example.com/other", "d2"); r.Status != http.StatusBadGateway {
		t.Fatalf("an event of another source: %d %s; want the API's refusal", r.Status, r.Body)
	}
	// The API's own routes are still served next to the gateway's.
	ts.expect(200, "GET", "/v2/events?source=example.com/echo", ts.root, nil)
	m := ts.expect(200, "GET", "/v2/audit", ts.root, nil).json(t)
	found := false
	for _, it := range m["items"].([]any) {
		p := it.(map[string]any)["principal"].(map[string]any)
		if p["kind"] == "GATEWAY" && p["id"] == "echo" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit entry names the gateway: %v", m["items"])
	}
}
