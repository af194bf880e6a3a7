package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// fake serves one handler and returns a Client of it.
func fake(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return New(srv.URL+"/", "tok")
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, err error)
	}{
		{"BadRequest", 400, `{"kind":"BadRequestError","apiVersion":"brigade.sh/v2","reason":"Request body failed JSON validation","details":["a","b"]}`,
			func(t *testing.T, err error) {
				var e *core.BadRequestError
				if !errors.As(err, &e) || e.Reason != "Request body failed JSON validation" || len(e.Details) != 2 {
					t.Fatalf("got %#v", err)
				}
			}},
		{"Authentication", 401, `{"kind":"AuthenticationError","apiVersion":"brigade.sh/v2","reason":"session expired"}`,
			func(t *testing.T, err error) {
				var e *core.AuthenticationError
				if !errors.As(err, &e) || e.Reason != "session expired" {
					t.Fatalf("got %#v", err)
				}
			}},
		{"AuthorizationLockedPlainBody", 403, "{}\n",
			func(t *testing.T, err error) {
				var e *core.AuthorizationError
				if !errors.As(err, &e) {
					t.Fatalf("got %#v", err)
				}
			}},
		{"NotFound", 404, `{"kind":"NotFoundError","apiVersion":"brigade.sh/v2","type":"Project","id":"demo"}`,
			func(t *testing.T, err error) {
				var e *core.NotFoundError
				if !errors.As(err, &e) || e.Type != "Project" || e.ID != "demo" || !core.IsNotFound(err) {
					t.Fatalf("got %#v", err)
				}
			}},
		{"Conflict", 409, `{"kind":"ConflictError","apiVersion":"brigade.sh/v2","type":"Project","id":"demo","reason":"taken"}`,
			func(t *testing.T, err error) {
				if !core.IsConflict(err) || err.Error() != "taken" {
					t.Fatalf("got %#v", err)
				}
			}},
		{"NotSupported", 501, `{"kind":"NotSupportedError","apiVersion":"brigade.sh/v2","reason":"root login is disabled"}`,
			func(t *testing.T, err error) {
				var e *core.NotSupportedError
				if !errors.As(err, &e) || e.Reason != "root login is disabled" {
					t.Fatalf("got %#v", err)
				}
			}},
		{"TooLarge", 413, `{"kind":"RequestEntityTooLargeError","apiVersion":"brigade.sh/v2","reason":"too big"}`,
			func(t *testing.T, err error) {
				var e *APIError
				if !errors.As(err, &e) || e.StatusCode != 413 {
					t.Fatalf("got %#v", err)
				}
				want := `received 413 from API server: {"kind":"RequestEntityTooLargeError","apiVersion":"brigade.sh/v2","reason":"too big"}`
				if err.Error() != want {
					t.Fatalf("message %q, want %q", err.Error(), want)
				}
			}},
		{"Internal", 500, `{"kind":"InternalServerError","apiVersion":"brigade.sh/v2"}`,
			func(t *testing.T, err error) {
				if !strings.HasPrefix(err.Error(), "received 500 from API server") {
					t.Fatalf("got %v", err)
				}
			}},
		{"NotFoundNotJSON", 404, "404 page not found\n",
			func(t *testing.T, err error) {
				var e *APIError
				if !errors.As(err, &e) || err.Error() != "received 404 from API server: 404 page not found" {
					t.Fatalf("got %#v", err)
				}
			}},
		{"WrongSuccessCode", 201, `{"metadata":{"id":"demo"}}`,
			func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "received 201") {
					t.Fatalf("got %v", err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fake(t, func(w http.ResponseWriter, r *http.Request) { reply(w, tc.status, tc.body) })
			_, err := c.GetProject(context.Background(), "demo")
			tc.check(t, err)
		})
	}
}

func TestUnreachableServerSaysWhatToTry(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	_, err := New(addr, "").Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "running and reachable") {
		t.Fatalf("got %v", err)
	}
}

func TestRequests(t *testing.T) {
	type seen struct {
		method, path, query, auth string
		body                      map[string]any
	}
	var got seen
	var status int
	var replyBody string
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		got = seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, auth: r.Header.Get("Authorization")}
		got.body = nil
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			if err := json.Unmarshal(b, &got.body); err != nil {
				t.Errorf("body is not JSON: %s", b)
			}
		}
		reply(w, status, replyBody)
	})
	ctx := context.Background()
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("CreateProjectSendsEnvelopeWithoutServerFields", func(t *testing.T) {
		status, replyBody = 201, `{"kind":"Project","apiVersion":"brigade.sh/v2","metadata":{"id":"demo","created":"2024-01-02T03:04:05Z"},"spec":{"workerTemplate":{"useWorkspace":false}}}`
		p, err := c.CreateProject(ctx, &core.Project{
			Metadata:   core.ObjectMeta{ID: "demo", Created: &created},
			Kubernetes: &core.ProjectKubernetes{Namespace: "x"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.method != "POST" || got.path != "/v2/projects" || got.auth != "Bearer tok" {
			t.Fatalf("request %+v", got)
		}
		if got.body["kind"] != "Project" || got.body["apiVersion"] != "brigade.sh/v2" {
			t.Fatalf("envelope missing: %v", got.body)
		}
		if _, ok := got.body["kubernetes"]; ok {
			t.Fatalf("kubernetes sent: %v", got.body)
		}
		if md := got.body["metadata"].(map[string]any); len(md) != 1 {
			t.Fatalf("metadata sent: %v", md)
		}
		if p.Metadata.ID != "demo" || p.Metadata.Created == nil || !p.Metadata.Created.Equal(created) {
			t.Fatalf("decoded %+v", p)
		}
	})

	t.Run("CreateEventReturnsItems", func(t *testing.T) {
		status, replyBody = 201, `{"kind":"EventList","apiVersion":"brigade.sh/v2","metadata":{"remainingItemCount":0},"items":[{"kind":"Event","apiVersion":"brigade.sh/v2","metadata":{"id":"e1"},"projectID":"demo"}]}`
		evs, err := c.CreateEvent(ctx, &core.Event{
			Metadata: core.ObjectMeta{ID: "old"}, ProjectID: "demo", Source: "brigade.sh/cli", Type: "exec",
			Summary: "s", Worker: &core.Worker{},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Metadata.ID != "e1" {
			t.Fatalf("got %+v", evs)
		}
		if got.body["kind"] != "Event" || got.body["worker"] != nil || got.body["summary"] != nil {
			t.Fatalf("body %v", got.body)
		}
		if md := got.body["metadata"].(map[string]any); len(md) != 0 {
			t.Fatalf("metadata sent: %v", md)
		}
	})

	t.Run("ListEventsEncodesSelector", func(t *testing.T) {
		status, replyBody = 200, `{"kind":"EventList","apiVersion":"brigade.sh/v2","metadata":{"continue":"c2","remainingItemCount":3},"items":[]}`
		l, err := c.ListEvents(ctx, &EventSelector{
			ProjectID: "demo", Labels: map[string]string{"b": "2", "a": "1"},
			WorkerPhases: []core.WorkerPhase{core.PhasePending, core.PhaseRunning},
		}, &ListOptions{Limit: 5, Continue: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		want := "continue=c1&labels=a%3D1%2Cb%3D2&limit=5&projectID=demo&workerPhases=PENDING%2CRUNNING"
		if got.query != want {
			t.Fatalf("query %q, want %q", got.query, want)
		}
		if l.Metadata.Continue != "c2" || l.Metadata.RemainingItemCount != 3 {
			t.Fatalf("meta %+v", l.Metadata)
		}
	})

	t.Run("RootSessionUsesBasicAuth", func(t *testing.T) {
		status, replyBody = 201, `{"kind":"Token","apiVersion":"brigade.sh/v2","value":"abc"}`
		tok, err := c.CreateRootSession(ctx, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if tok.Value != "abc" || got.query != "root=true" || !strings.HasPrefix(got.auth, "Basic ") {
			t.Fatalf("token %+v, request %+v", tok, got)
		}
	})

	t.Run("VoidCallsAcceptNullBody", func(t *testing.T) {
		status, replyBody = 200, `null`
		if err := c.CancelEvent(ctx, "e/1"); err != nil {
			t.Fatal(err)
		}
		if got.method != "PUT" || got.path != "/v2/events/e/1/cancellation" {
			t.Fatalf("request %+v", got)
		}
	})

	t.Run("StatusUpdatesCarryTheirKind", func(t *testing.T) {
		status, replyBody = 200, `null`
		if err := c.UpdateJobStatus(ctx, "e1", "build", core.JobStatus{Phase: core.PhaseRunning}); err != nil {
			t.Fatal(err)
		}
		if got.body["kind"] != "JobStatus" || got.body["phase"] != "RUNNING" || got.path != "/v2/events/e1/worker/jobs/build/status" {
			t.Fatalf("request %+v", got)
		}
		if err := c.SetSecret(ctx, "demo", core.Secret{Key: "k"}); err != nil {
			t.Fatal(err)
		}
		if got.body["kind"] != "Secret" || got.body["value"] != "" {
			t.Fatalf("secret body %v", got.body)
		}
	})

	t.Run("CountsAndPing", func(t *testing.T) {
		status, replyBody = 200, `{"kind":"CancelManyEventsResult","apiVersion":"brigade.sh/v2","count":4}`
		n, err := c.CancelManyEvents(ctx, EventSelector{ProjectID: "demo", WorkerPhases: []core.WorkerPhase{core.PhasePending}})
		if err != nil || n != 4 || got.method != "POST" {
			t.Fatalf("n=%d err=%v req=%+v", n, err, got)
		}
		status, replyBody = 200, `{"kind":"PingResponse","apiVersion":"brigade.sh/v2","Version":"v1","Commit":"abc","version":"v1","commit":"abc"}`
		p, err := c.Ping(ctx)
		if err != nil || p.Version != "v1" || p.Commit != "abc" || got.auth != "" {
			t.Fatalf("ping %+v err=%v auth=%q", p, err, got.auth)
		}
	})
}

func TestInsecureTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"kind":"PingResponse","apiVersion":"brigade.sh/v2","Version":"v1"}`)
	}))
	defer srv.Close()
	if _, err := New(srv.URL, "").Ping(context.Background()); err == nil {
		t.Fatal("an unverifiable certificate was accepted without WithInsecureTLS")
	}
	p, err := New(srv.URL, "", WithHTTPClient(&http.Client{}), WithInsecureTLS(true)).Ping(context.Background())
	if err != nil || p.Version != "v1" {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestAddressNormalised(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:7745":         "http://127.0.0.1:7745",
		"https://brigade.local/": "https://brigade.local",
		" http://x:1// ":         "http://x:1",
	} {
		if got := New(in, "").Address(); got != want {
			t.Errorf("New(%q).Address() = %q, want %q", in, got, want)
		}
	}
}

// TestTooManyRequests: a 429 with Brigade's error body is a typed error
// carrying Retry-After.
func TestTooManyRequests(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		reply(w, 429, `{"kind":"TooManyRequestsError","apiVersion":"brigade.sh/v2","reason":"Try again in 7s."}`)
	})
	_, err := c.CreateRootSession(context.Background(), "pw")
	var e *core.TooManyRequestsError
	if !errors.As(err, &e) || e.RetryAfter != 7*time.Second || err.Error() != "Too many requests: Try again in 7s." {
		t.Fatalf("got %#v", err)
	}
}
