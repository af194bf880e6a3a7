package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestInvalidUTF8IsRefused: a string with bytes that are not UTF-8 gets a
// 400 naming the field, and nothing is stored (Go's decoder would have
// stored U+FFFD in their place).
func TestInvalidUTF8IsRefused(t *testing.T) {
	ts := newTestServer(t)
	ts.createProject("kept", core.EventSubscription{Source: "brigade.sh/cli", Types: []string{"exec"}})
	before := ts.state()

	bad := func(s string) string { return s + "caf\xe9 \xff" }
	project := func(id, description string) string {
		return `{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"` + id + `"},"description":"` + description + `"}`
	}
	cases := []struct{ method, path, body, field string }{
		{"POST", "/v2/projects", project("fresh", bad("")), "description"},
		{"PUT", "/v2/projects/kept", project("kept", bad("changed ")), "description"},
		{"POST", "/v2/events", `{"apiVersion":"brigade.sh/v2","kind":"Event","projectID":"kept","source":"brigade.sh/cli","type":"exec","payload":"` + bad("") + `"}`, "payload"},
		{"POST", "/v2/events", `{"apiVersion":"brigade.sh/v2","kind":"Event","projectID":"kept","source":"brigade.sh/cli","type":"exec","labels":{"a":"` + bad("") + `"}}`, "labels.a"},
		{"PUT", "/v2/projects/kept/secrets/k", `{"apiVersion":"brigade.sh/v2","kind":"Secret","key":"k","value":"` + bad("") + `"}`, "value"},
	}
	for _, c := range cases {
		m := ts.expectError(http.StatusBadRequest, "BadRequestError", c.method, c.path, ts.root, c.body)
		details, _ := m["details"].([]any)
		if m["reason"] != "Request body is not valid UTF-8" || len(details) != 1 ||
			!strings.HasPrefix(details[0].(string), c.field+": ") {
			t.Errorf("%s %s: want the reason and a detail naming %q, got %v", c.method, c.path, c.field, m)
		}
	}
	if after := ts.state(); after != before {
		t.Fatalf("refused requests changed state:\nbefore %s\nafter  %s", before, after)
	}
	secrets := ts.expect(http.StatusOK, "GET", "/v2/projects/kept/secrets", ts.root, nil).json(t)
	if items, _ := secrets["items"].([]any); len(items) != 0 {
		t.Fatalf("a refused secret was stored: %v", secrets)
	}
}

// state is what a refused request must leave as it was: the projects and
// events listings (with their timestamps, descriptions and phases).
func (ts *testServer) state() string {
	ts.t.Helper()
	projects := ts.expect(http.StatusOK, "GET", "/v2/projects?limit=100", ts.root, nil).Body
	events := ts.expect(http.StatusOK, "GET", "/v2/events?limit=100", ts.root, nil).Body
	return string(projects) + "\n" + string(events)
}
