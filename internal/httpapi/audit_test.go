package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestObjectOf: the object of a call is its path after /v2/ up to the last
// wildcard, with the wildcards' values; a route without one names its
// collection; no route, no object.
func TestObjectOf(t *testing.T) {
	for _, c := range []struct{ pattern, path, route, object string }{
		{"PUT /v2/projects/{id}/secrets/{key}", "/v2/projects/p1/secrets/K", "/v2/projects/{id}/secrets/{key}", "projects/p1/secrets/K"},
		{"PUT /v2/events/{id}/worker/jobs/{job}/start", "/v2/events/e1/worker/jobs/build/start", "/v2/events/{id}/worker/jobs/{job}/start", "events/e1/worker/jobs/build"},
		{"PUT /v2/events/{id}/worker/start", "/v2/events/e1/worker/start", "/v2/events/{id}/worker/start", "events/e1"},
		{"POST /v2/events/cancellations", "/v2/events/cancellations", "/v2/events/cancellations", "events/cancellations"},
		{"DELETE /v2/session", "/v2/session", "/v2/session", "session"},
		{"POST /v2/things/{rest...}", "/v2/things/a/b", "/v2/things/{rest...}", "things/a/b"},
		{"", "/v2/nowhere", "/v2/nowhere", ""},
	} {
		var got *http.Request
		mux := http.NewServeMux()
		if c.pattern != "" {
			mux.HandleFunc(c.pattern, func(http.ResponseWriter, *http.Request) {})
		}
		method := "POST"
		if c.pattern != "" {
			method = c.pattern[:len(c.pattern)-len(c.route)-1]
		}
		got = httptest.NewRequest(method, c.path, nil)
		mux.ServeHTTP(httptest.NewRecorder(), got)
		if o := objectOf(got); o != c.object {
			t.Errorf("%s %s: object %q, want %q", method, c.path, o, c.object)
		}
		if r := routeOf(got); r != c.route {
			t.Errorf("%s %s: route %q, want %q", method, c.path, r, c.route)
		}
	}
}
