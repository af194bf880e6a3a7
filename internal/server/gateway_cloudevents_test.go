package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
	"github.com/brigadeplatform/brigade/internal/gateway/cloudevents"
	"github.com/brigadeplatform/brigade/internal/gateway/gateways"
	"github.com/brigadeplatform/brigade/internal/server"
)

const ceLimit = 4096 // the gateway's body limit in these tests

// ceWorld is a server with the CloudEvents gateway mounted, a project
// subscribed to CloudEvents of one source and type, and senders' tokens.
type ceWorld struct {
	ts     *testServer
	api    *client.Client // root's
	sender string         // EVENT_CREATOR for brigade.sh/cloudevents
	reader string         // a valid token that may not create events
	path   string         // the gateway's
}

func newCEWorld(t *testing.T) *ceWorld {
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) { c.Gateways.CloudEvents.MaxBodyBytes = ceLimit })
	w := &ceWorld{ts: ts, api: client.New(ts.url, ts.root), path: "/gateways/cloudevents"}
	ts.createProject("ce-app", core.EventSubscription{Source: cloudevents.Source, Types: []string{cloudevents.EventType},
		Qualifiers: map[string]string{"source": "example.com/app", "type": "com.example.ping"}})
	w.sender = w.serviceAccount(t, "ce-sender", core.RoleAssignment{Role: "EVENT_CREATOR", Scope: cloudevents.Source})
	w.reader = w.serviceAccount(t, "ce-reader", core.RoleAssignment{Role: "READER"})
	return w
}

func (w *ceWorld) serviceAccount(t *testing.T, id string, grant core.RoleAssignment) string {
	t.Helper()
	tok, err := w.api.CreateServiceAccount(t.Context(), id, "sends CloudEvents")
	if err != nil {
		t.Fatal(err)
	}
	grant.Principal = core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: id}
	if err := w.api.GrantRole(t.Context(), grant); err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

// send posts body with headers (a "Bearer" token unless token is empty) to
// the gateway, with query appended to its path.
func (w *ceWorld) send(t *testing.T, method, token, query string, header map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, w.ts.url+w.path+query, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// ids expects a 200 and returns the event IDs of the reply.
func (r reply) ids(t *testing.T) []string {
	t.Helper()
	var out struct{ EventIDs []string }
	if r.Status != http.StatusOK {
		t.Fatalf("got %d, want 200: %s", r.Status, r.Body)
	}
	r.into(t, &out)
	if out.EventIDs == nil {
		t.Fatalf("no eventIDs list in %s", r.Body)
	}
	return out.EventIDs
}

// eventCount is how many CloudEvents events exist.
func (w *ceWorld) eventCount(t *testing.T) int {
	t.Helper()
	list, err := w.api.ListEvents(t.Context(), &client.EventSelector{Source: cloudevents.Source}, &client.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// payload is the CloudEvent an event carries, decoded.
func (w *ceWorld) payload(t *testing.T, id string) (core.Event, map[string]any) {
	t.Helper()
	ev, err := w.api.GetEvent(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var ce map[string]any
	if err := json.Unmarshal([]byte(ev.Payload), &ce); err != nil {
		t.Fatalf("payload is not JSON: %v: %s", err, ev.Payload)
	}
	return *ev, ce
}

func structured(id string, extra string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"example.com/app","type":"com.example.ping"` + extra + `}`
}

var structuredHeader = map[string]string{"Content-Type": "application/cloudevents+json"}

func binaryHeader(id string) map[string]string {
	return map[string]string{"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Source": "example.com/app",
		"Ce-Type": "com.example.ping", "Content-Type": "application/json"}
}

func TestCloudEventsGateway(t *testing.T) {
	w := newCEWorld(t)

	t.Run("BinaryMode", func(t *testing.T) {
		h := binaryHeader("bin-1")
		h["Ce-Subject"] = "hello%20w%C3%B6rld%25" // percent-encoded once
		h["Ce-Traceparent"] = "00-abc"
		ids := w.send(t, "POST", w.sender, "", h, `{"msg": "hi"}`).ids(t)
		if len(ids) != 1 {
			t.Fatalf("created %v, want one event for the subscribed project", ids)
		}
		ev, ce := w.payload(t, ids[0])
		if ev.Source != cloudevents.Source || ev.Type != "cloudevent" || ev.ProjectID != "ce-app" ||
			ev.Qualifiers["source"] != "example.com/app" || ev.Qualifiers["type"] != "com.example.ping" || len(ev.Qualifiers) != 2 {
			t.Fatalf("event %+v", ev)
		}
		want := map[string]any{"specversion": "1.0", "id": "bin-1", "source": "example.com/app", "type": "com.example.ping",
			"subject": "hello wörld%", "traceparent": "00-abc", "datacontenttype": "application/json",
			"data": map[string]any{"msg": "hi"}}
		if fmt.Sprint(ce) != fmt.Sprint(want) {
			t.Fatalf("payload %v\nwant    %v", ce, want)
		}
	})
	t.Run("BinaryModeTextAndBytes", func(t *testing.T) {
		h := binaryHeader("bin-text")
		h["Content-Type"] = "text/plain; charset=utf-8"
		_, ce := w.payload(t, w.send(t, "POST", w.sender, "", h, "plain words").ids(t)[0])
		if ce["data"] != "plain words" {
			t.Fatalf("text data: %v", ce)
		}
		h = binaryHeader("bin-bytes")
		h["Content-Type"] = "application/octet-stream"
		_, ce = w.payload(t, w.send(t, "POST", w.sender, "", h, "\x00\x01\xff").ids(t)[0])
		if ce["data_base64"] != "AAH/" || ce["data"] != nil {
			t.Fatalf("binary data: %v", ce)
		}
	})
	t.Run("StructuredMode", func(t *testing.T) {
		body := structured("str-1", `,"time":"2026-12-02T08:00:00Z","datacontenttype":"application/json","data":{"n":[1,2]},"ext1":7`)
		ids := w.send(t, "POST", w.sender, "", map[string]string{"Content-Type": "application/cloudevents+json; charset=UTF-8"}, body).ids(t)
		ev, ce := w.payload(t, ids[0])
		var want map[string]any
		_ = json.Unmarshal([]byte(body), &want)
		if fmt.Sprint(ce) != fmt.Sprint(want) || ev.Qualifiers["type"] != "com.example.ping" {
			t.Fatalf("payload %v, want %v", ce, want)
		}
	})
	t.Run("BatchModeOneEventEach", func(t *testing.T) {
		body := "[" + structured("batch-1", "") + "," + structured("batch-2", `,"data":"two"`) + "]"
		h := map[string]string{"Content-Type": "application/cloudevents-batch+json"}
		ids := w.send(t, "POST", w.sender, "", h, body).ids(t)
		if len(ids) != 2 {
			t.Fatalf("batch of 2 made %v", ids)
		}
		// Each element has its own key: a batch repeating one of them
		// creates only the new one.
		body = "[" + structured("batch-2", `,"data":"two"`) + "," + structured("batch-3", "") + "]"
		again := w.send(t, "POST", w.sender, "", h, body).ids(t)
		if len(again) != 2 || again[0] != ids[1] || again[1] == ids[0] || again[1] == ids[1] {
			t.Fatalf("second batch: %v, first %v", again, ids)
		}
		if got := w.send(t, "POST", w.sender, "", h, "[]").ids(t); len(got) != 0 {
			t.Fatalf("empty batch: %v", got)
		}
		before := w.eventCount(t)
		mixed := "[" + structured("batch-4", "") + `,{"specversion":"0.3","id":"batch-5","source":"example.com/app","type":"com.example.ping"}]`
		if r := w.send(t, "POST", w.sender, "", h, mixed); r.Status != http.StatusBadRequest {
			t.Fatalf("mixed specversions: %d %s", r.Status, r.Body)
		}
		if w.eventCount(t) != before {
			t.Fatal("a refused batch created events")
		}
	})
	t.Run("Version03", func(t *testing.T) {
		h := binaryHeader("v03")
		h["Ce-Specversion"] = "0.3"
		_, ce := w.payload(t, w.send(t, "POST", w.sender, "", h, `{"a":1}`).ids(t)[0])
		if ce["specversion"] != "0.3" {
			t.Fatalf("payload %v", ce)
		}
	})
	t.Run("RepeatedSourceAndID", func(t *testing.T) {
		first := w.send(t, "POST", w.sender, "", structuredHeader, structured("dup-1", "")).ids(t)
		before := w.eventCount(t)
		// The same (source, id) in the other mode, with other data.
		again := w.send(t, "POST", w.sender, "", binaryHeader("dup-1"), `{"other":true}`).ids(t)
		if fmt.Sprint(again) != fmt.Sprint(first) || w.eventCount(t) != before {
			t.Fatalf("repeat: %v, first %v; events %d → %d", again, first, before, w.eventCount(t))
		}
		// The same id from another source is another delivery (which no
		// project subscribes to), not a repeat of the first.
		other := strings.Replace(structured("dup-1", ""), "example.com/app", "example.com/other", 1)
		if ids := w.send(t, "POST", w.sender, "", structuredHeader, other).ids(t); len(ids) != 0 {
			t.Fatalf("the same id from another source: %v, taken for a repeat of %v", ids, first)
		}
	})
	t.Run("NoSubscriberIsEmptyList", func(t *testing.T) {
		body := strings.Replace(structured("nosub-1", ""), "com.example.ping", "com.example.unheard", 1)
		if ids := w.send(t, "POST", w.sender, "", structuredHeader, body).ids(t); len(ids) != 0 {
			t.Fatalf("ids %v", ids)
		}
	})
	t.Run("MalformedIs400", func(t *testing.T) {
		for name, body := range map[string]string{
			"NoID":          `{"specversion":"1.0","source":"example.com/app","type":"t"}`,
			"NoSource":      `{"specversion":"1.0","id":"x","type":"t"}`,
			"NoType":        `{"specversion":"1.0","id":"x","source":"example.com/app"}`,
			"NoSpecversion": `{"id":"x","source":"example.com/app","type":"t"}`,
			"EmptyID":       `{"specversion":"1.0","id":"","source":"example.com/app","type":"t"}`,
			"Version02":     `{"specversion":"0.2","id":"x","source":"example.com/app","type":"t"}`,
			"Version2":      `{"specversion":"2.0","id":"x","source":"example.com/app","type":"t"}`,
			"NotJSON":       `{"specversion":`,
			"BadTime":       structured("x", `,"time":"yesterday"`),
		} {
			r := w.send(t, "POST", w.sender, "", structuredHeader, body)
			if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"kind":"BadRequestError"`) {
				t.Errorf("%s (structured): %d %s", name, r.Status, r.Body)
			}
		}
		for _, drop := range []string{"Ce-Id", "Ce-Source", "Ce-Type"} {
			h := binaryHeader("x")
			delete(h, drop)
			if r := w.send(t, "POST", w.sender, "", h, `{}`); r.Status != http.StatusBadRequest {
				t.Errorf("binary without %s: %d %s", drop, r.Status, r.Body)
			}
		}
		h := binaryHeader("x")
		h["Ce-Specversion"] = "9.9"
		if r := w.send(t, "POST", w.sender, "", h, `{}`); r.Status != http.StatusBadRequest {
			t.Errorf("binary, specversion 9.9: %d %s", r.Status, r.Body)
		}
		h = binaryHeader("x")
		h["Ce-Subject"] = "100%"
		if r := w.send(t, "POST", w.sender, "", h, `{}`); r.Status != http.StatusBadRequest {
			t.Errorf("binary, a bad percent-encoding: %d %s", r.Status, r.Body)
		}
	})
	t.Run("NotACloudEventIs415", func(t *testing.T) {
		for _, h := range []map[string]string{{"Content-Type": "application/json"}, {}, {"Content-Type": "application/cloudevents+xml"}} {
			if r := w.send(t, "POST", w.sender, "", h, structured("x", "")); r.Status != http.StatusUnsupportedMediaType {
				t.Errorf("%v: %d %s", h, r.Status, r.Body)
			}
		}
	})
	t.Run("UnroutableQualifierIs422", func(t *testing.T) {
		before := w.eventCount(t)
		for _, src := range []string{"https://example.com/app#frag", "mailto:ops@example.com", "my app"} {
			body := strings.Replace(structured("q-1", ""), "example.com/app", src, 1)
			r := w.send(t, "POST", w.sender, "", structuredHeader, body)
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "qualifier") {
				t.Errorf("source %q: %d %s", src, r.Status, r.Body)
			}
		}
		if w.eventCount(t) != before {
			t.Fatal("a refused event was created")
		}
	})
	t.Run("Tokens", func(t *testing.T) {
		bad := structuredHeader
		for name, c := range map[string]struct {
			token, query, body string
			header             map[string]string
		}{
			"NoToken":                  {body: structured("t-1", "")},
			"NoTokenAndBadBody":        {body: "not json"},
			"WrongToken":               {token: "not-a-token", body: structured("t-1", "")},
			"WrongTokenAndBadBody":     {token: "not-a-token", body: "not json"},
			"WrongAccessToken":         {query: "?access_token=not-a-token", body: structured("t-1", "")},
			"ValidTokenWithoutRole":    {token: w.reader, body: structured("t-1", "")},
			"BasicIsNotABearerToken":   {header: map[string]string{"Authorization": "Basic " + w.sender}, body: structured("t-1", "")},
			"WrongTokenNotACloudEvent": {token: "not-a-token", header: map[string]string{"Content-Type": "text/plain"}, body: "x"},
		} {
			h := map[string]string{"Content-Type": bad["Content-Type"]}
			for k, v := range c.header {
				h[k] = v
			}
			r := w.send(t, "POST", c.token, c.query, h, c.body)
			if r.Status != http.StatusForbidden || len(r.Body) != 0 {
				t.Errorf("%s: %d %q, want 403 with an empty body", name, r.Status, r.Body)
			}
		}
		if w.eventCountOf(t, "t-1") != 0 {
			t.Fatal("a refused sender created an event")
		}
		w.send(t, "POST", "", "?access_token="+url.QueryEscape(w.sender), structuredHeader, structured("t-2", "")).ids(t)
		h := map[string]string{"Content-Type": structuredHeader["Content-Type"], "Authorization": "bEaReR " + w.sender}
		w.send(t, "POST", "", "", h, structured("t-3", "")).ids(t)
	})
	t.Run("Handshake", func(t *testing.T) {
		var called atomic.Int32
		cb := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called.Add(1) }))
		defer cb.Close()
		for _, c := range []struct {
			header   map[string]string
			wantRate string
		}{
			{map[string]string{"WebHook-Request-Origin": "eventemitter.example.com"}, "*"},
			{map[string]string{"WebHook-Request-Origin": "eventemitter.example.com", "WebHook-Request-Rate": "120"}, "120"},
			{map[string]string{"WebHook-Request-Origin": "eventemitter.example.com", "WebHook-Request-Callback": cb.URL}, "*"},
		} {
			r := w.send(t, "OPTIONS", "", "", c.header, "")
			if r.Status != http.StatusOK || r.Header.Get("WebHook-Allowed-Origin") != "eventemitter.example.com" ||
				r.Header.Get("WebHook-Allowed-Rate") != c.wantRate || !strings.Contains(r.Header.Get("Allow"), "POST") {
				t.Errorf("%v: %d %v", c.header, r.Status, r.Header)
			}
		}
		if called.Load() != 0 {
			t.Fatal("the gateway called a callback URL; it grants in its reply only")
		}
		if r := w.send(t, "OPTIONS", "", "", map[string]string{"WebHook-Request-Origin": "x.example.com", "WebHook-Request-Rate": "lots"}, ""); r.Status != http.StatusBadRequest {
			t.Errorf("a bad rate: %d", r.Status)
		}
	})
	t.Run("BodyLimit", func(t *testing.T) {
		pad := func(id string, size int) string {
			b := structured(id, `,"data":""`)
			return strings.Replace(b, `"data":""`, `"data":"`+strings.Repeat("x", size-len(b))+`"`, 1)
		}
		exactly := pad("limit-1", ceLimit)
		if len(exactly) != ceLimit {
			t.Fatalf("test body is %d bytes", len(exactly))
		}
		w.send(t, "POST", w.sender, "", structuredHeader, exactly).ids(t)
		before := w.eventCount(t)
		r := w.send(t, "POST", w.sender, "", structuredHeader, pad("limit-2", ceLimit+1))
		if r.Status != http.StatusRequestEntityTooLarge || w.eventCount(t) != before {
			t.Fatalf("limit + 1: %d %s", r.Status, r.Body)
		}
	})
}

// eventCountOf is how many CloudEvents events carry a CloudEvent id.
func (w *ceWorld) eventCountOf(t *testing.T, ceID string) int {
	t.Helper()
	list, err := w.api.ListEvents(t.Context(), &client.EventSelector{Source: cloudevents.Source}, &client.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range list.Items {
		if strings.Contains(ev.Payload, `"id":"`+ceID+`"`) {
			n++
		}
	}
	return n
}

// TestCloudEventsGatewayAlone: run alone (as `brigade gateway cloudevents`
// does), the gateway serves POST and OPTIONS /events and creates events on
// a remote API with each sender's token.
func TestCloudEventsGatewayAlone(t *testing.T) {
	w := newCEWorld(t)
	gws, err := (&gateways.Config{}).Build(cloudevents.Name, func(name, _ string) gateway.Env {
		return gateway.Env{API: client.New(w.ts.url, "a-token-the-gateway-never-uses"), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	})
	if err != nil || len(gws) != 1 {
		t.Fatalf("building the gateway: %v", err)
	}
	base := serveAlone(t, gws, slog.New(slog.NewTextHandler(io.Discard, nil)))
	alone := &ceWorld{ts: &testServer{t: t, url: base}, path: "/events"}
	ids := alone.send(t, "POST", w.sender, "", structuredHeader, structured("alone-1", "")).ids(t)
	if len(ids) != 1 {
		t.Fatalf("created %v", ids)
	}
	if ev, _ := w.payload(t, ids[0]); ev.ProjectID != "ce-app" {
		t.Fatalf("event %+v", ev)
	}
	r := alone.send(t, "OPTIONS", "", "", map[string]string{"WebHook-Request-Origin": "sender.example.com"}, "")
	if r.Status != 200 || r.Header.Get("WebHook-Allowed-Origin") != "sender.example.com" {
		t.Fatalf("handshake alone: %d %v", r.Status, r.Header)
	}
	alone.path = "/gateways/cloudevents"
	if r := alone.send(t, "POST", w.sender, "", structuredHeader, structured("alone-2", "")); r.Status != http.StatusNotFound {
		t.Fatalf("the mounted path, alone: %d", r.Status)
	}
}
