package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const rootPassword = "dashboard-root-password"

// dash is a real server with its dashboard, a root API client, and the
// address of its pages.
type dash struct {
	srv *server.Server
	url string
	c   *client.Client
}

// startDash starts a server; substrate "none" runs no work.
func startDash(t *testing.T, substrate string, tune ...func(*server.Config)) *dash {
	t.Helper()
	cfg := server.Config{Substrate: substrate, RootPassword: rootPassword, CleanupDelay: time.Hour}
	for _, f := range tune {
		f(&cfg)
	}
	srv, _ := testenv.Server(t, cfg)
	c, err := testenv.RootClient(t.Context(), srv, rootPassword)
	if err != nil {
		t.Fatal(err)
	}
	return &dash{srv: srv, url: srv.URL(), c: c}
}

// project creates a project subscribed to brigade.sh/cli exec events that
// runs script.
func (d *dash) project(t *testing.T, id, script string) {
	t.Helper()
	_, err := d.c.CreateProject(t.Context(), &core.Project{Metadata: core.ObjectMeta{ID: id}, Description: "the " + id + " project",
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
			WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
		}})
	if err != nil {
		t.Fatal(err)
	}
}

func (d *dash) event(t *testing.T, project, payload string) string {
	t.Helper()
	evs, err := d.c.CreateEvent(t.Context(), &core.Event{ProjectID: project, Source: "brigade.sh/cli", Type: "exec", Payload: payload})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating an event: %v (%d events)", err, len(evs))
	}
	return evs[0].Metadata.ID
}

// waitPhase waits for an event's worker to reach a phase.
func (d *dash) waitPhase(t *testing.T, id string, want core.WorkerPhase) *core.Event {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ev, err := d.c.GetEvent(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Worker != nil && ev.Worker.Status.Phase == want {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s is %v, not %s, after 60 s", id, ev.Worker.Status.Phase, want)
		}
		ch, cancel := d.srv.Service().Changes(id)
		select {
		case <-ch:
		case <-time.After(time.Second): // a change between the read and the subscription
		}
		cancel()
	}
}

// browser is an HTTP client with cookies and no redirects followed, as a
// browser without JavaScript.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.hc.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) post(path string, form url.Values, header ...string) (int, string, http.Header) {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

var (
	formField = regexp.MustCompile(`name="form" value="([^"]+)"`)
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// signIn signs in with the root password through the form.
func (b *browser) signIn(password string) (int, string, http.Header) {
	b.t.Helper()
	_, page, _ := b.get("/signin")
	m := formField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("the sign-in page has no form token:\n%s", page)
	}
	return b.post("/signin", url.Values{"form": {m[1]}, "password": {password}, "next": {"/"}})
}

// csrf reads a page's CSRF token.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, page, _ := b.get(path)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("%s has no CSRF token:\n%s", path, page)
	}
	return m[1]
}
