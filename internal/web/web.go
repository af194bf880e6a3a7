// Package web is the dashboard `brigade server` serves at /: server-rendered
// pages (html/template) with a little hand-written CSS and JavaScript, all
// embedded in the binary. Every page calls the API service as the signed-in
// principal, so the API's authorization applies unchanged. Pages work
// without JavaScript; with it, server-sent events keep them live.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/audit"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/ratelimit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options tunes the dashboard.
type Options struct {
	// Secure marks the session cookie Secure: set it when serving TLS.
	Secure bool
	// MaxBodyBytes caps a form's body (default 1 MiB).
	MaxBodyBytes int64
	Logger       *slog.Logger
	// LoginLimiter, shared with the API's login, limits failed sign-ins
	// per client address.
	LoginLimiter *ratelimit.Limiter
	// Audit, if set, records the dashboard's actions as the API's are.
	Audit *audit.Recorder
	// ThirdPartyLogin names the identity provider people may sign in
	// with ("OpenID Connect", "GitHub"); empty when there is none.
	ThirdPartyLogin string
	Version         string
	// Now is the clock of timelines (default time.Now).
	Now func() time.Time
}

// Dashboard serves the pages. Build it with New and Mount it on a mux.
type Dashboard struct {
	svc   *api.Service
	opts  Options
	log   *slog.Logger
	pages map[string]*template.Template
}

// page names, each a template file that fills the layout's blocks.
var pageNames = []string{"signin", "projects", "project", "event", "logs", "error"}

// New parses the embedded templates.
func New(svc *api.Service, opts Options) (*Dashboard, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Dashboard{svc: svc, opts: opts, log: opts.Logger, pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing the dashboard's %s page: %w", name, err)
		}
		d.pages[name] = t
	}
	return d, nil
}

// Mount adds the dashboard's routes to mux. The API keeps /v2/... and
// everything else mux serves; the dashboard takes / and the paths below.
func (d *Dashboard) Mount(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", d.recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	mux.Handle("GET /signin", d.recover(http.HandlerFunc(d.signinPage)))
	mux.Handle("POST /signin", d.recover(http.HandlerFunc(d.signin)))
	mux.Handle("POST /signin/provider", d.recover(http.HandlerFunc(d.signinWithProvider)))
	mux.Handle("POST /signout", d.authed(d.signout))

	mux.Handle("GET /{$}", d.authed(d.projectsPage))
	mux.Handle("GET /live/projects", d.authed(d.projectsLive))
	mux.Handle("GET /projects/{id}", d.authed(d.projectPage))
	mux.Handle("GET /projects/{id}/live", d.authed(d.projectLive))
	mux.Handle("POST /projects/{id}/events", d.authed(d.createEvent))
	mux.Handle("GET /events/{id}", d.authed(d.eventPage))
	mux.Handle("GET /events/{id}/live", d.authed(d.eventLive))
	mux.Handle("POST /events/{id}/cancel", d.authed(d.cancelEvent))
	mux.Handle("POST /events/{id}/retry", d.authed(d.retryEvent))
	mux.Handle("POST /events/{id}/clone", d.authed(d.cloneEvent))
	mux.Handle("GET /events/{id}/logs", d.authed(d.logsPage))
	mux.Handle("GET /events/{id}/logs.txt", d.authed(d.logsDownload))
	mux.Handle("GET /events/{id}/logs/live", d.authed(d.logsLive))
}

// view is what every page's layout needs.
type view struct {
	Title   string
	Who     string // the signed-in principal, "" on the sign-in page
	CSRF    string
	Version string
	Crumbs  []crumb
	Data    any
}

type crumb struct{ Name, Href string }

// render writes a whole page.
func (d *Dashboard) render(w http.ResponseWriter, status int, page string, v view) {
	v.Version = d.opts.Version
	var buf bytes.Buffer
	if err := d.pages[page].Execute(&buf, v); err != nil {
		d.log.Error("rendering a dashboard page", "page", page, "error", err)
		http.Error(w, "The page could not be rendered because of an error on the server; its log says why.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fragment renders one named template of a page (a live section).
func (d *Dashboard) fragment(page, name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := d.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// fail renders an error page for err with the status its kind calls for.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error) {
	status, msg := classify(err)
	if status == http.StatusInternalServerError {
		d.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	v := view{Title: http.StatusText(status), Data: errorView{Status: status, Message: msg}}
	if p != nil {
		v.Who, v.CSRF = who(p), csrfOf(r)
	}
	d.render(w, status, "error", v)
}

type errorView struct {
	Status  int
	Message string
}

// classify maps the service's typed errors to a status and a message for
// a person.
func classify(err error) (int, string) {
	var (
		bad   *core.BadRequestError
		authn *core.AuthenticationError
		authz *core.AuthorizationError
		nf    *core.NotFoundError
		cf    *core.ConflictError
		ns    *core.NotSupportedError
		tm    *core.TooManyRequestsError
	)
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest, bad.Error()
	case errors.As(err, &authn):
		return http.StatusUnauthorized, authn.Error()
	case errors.As(err, &authz):
		return http.StatusForbidden, "You are not allowed to do this: " + authz.Error()
	case errors.As(err, &nf):
		return http.StatusNotFound, nf.Error()
	case errors.As(err, &cf):
		return http.StatusConflict, cf.Error()
	case errors.As(err, &ns):
		return http.StatusNotImplemented, ns.Error()
	case errors.As(err, &tm):
		return http.StatusTooManyRequests, tm.Error()
	}
	return http.StatusInternalServerError, "Something went wrong on the server; its log says what. Try again, or tell whoever runs it."
}

// recover turns a panic into a 500 page: no panic reaches a user.
func (d *Dashboard) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				d.log.Error("panic serving a dashboard page", "method", r.Method, "path", r.URL.Path,
					"panic", v, "stack", string(debug.Stack()))
				http.Error(w, "The page failed because of an error on the server; its log says why.", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// record notes a dashboard action in the audit log, as the API does for
// its own.
func (d *Dashboard) record(r *http.Request, p *auth.Principal, action, object string, err error) {
	if d.opts.Audit == nil {
		return
	}
	e := core.AuditEntry{Principal: audit.PrincipalOf(p), Action: action + " (dashboard)", Object: object,
		Client: clientHost(r), Status: http.StatusOK}
	if err != nil {
		e.Status, e.Error = classify(err)
	}
	d.opts.Audit.Record(e)
}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// detached keeps a mutation going when the browser goes away: an event
// being created must not be left half-made.
func detached(r *http.Request) context.Context {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return context.WithoutCancel(r.Context())
	}
	return r.Context()
}

func who(p *auth.Principal) string {
	if p == nil {
		return ""
	}
	if ref := p.Reference(); ref != nil {
		if ref.Type == core.PrincipalTypeRoot {
			return "root"
		}
		return ref.ID
	}
	return p.ID
}
