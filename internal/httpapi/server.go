// Package httpapi serves Brigade v2's REST API over net/http: routes,
// middleware (path cleaning, CORS, authentication, body limits, panic
// recovery), the error→status mapping, and the status-watch and log
// streams in both framings (the Go SDK's and the JS SDK's server-sent
// events).
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/audit"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/ratelimit"
)

// Options tunes the HTTP layer.
type Options struct {
	// MaxBodyBytes caps request bodies (413 beyond it). Default 4 MiB.
	MaxBodyBytes int64
	Version      string
	Commit       string
	Logger       *slog.Logger
	// Audit, if set, records every state-changing request (see audited).
	Audit *audit.Recorder
	// LoginLimiter, if set, limits failed logins (POST /v2/sessions) per
	// client address: an attempt takes a token, a successful one gives it
	// back, and an empty bucket answers 429 with Retry-After.
	LoginLimiter *ratelimit.Limiter
}

// DefaultMaxBodyBytes is the request body limit when none is configured.
const DefaultMaxBodyBytes = 4 << 20

type handler struct {
	svc  *api.Service
	opts Options
	log  *slog.Logger
}

// New returns the API's http.Handler.
func New(svc *api.Service, opts Options) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger
	}
	if opts.Version == "" {
		opts.Version = "devel"
	}
	h := &handler{svc: svc, opts: opts, log: opts.Logger}
	mux := http.NewServeMux()

	open := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, detach(fn)) }
	authed := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, h.authenticate(fn)) }

	open("GET /healthz", h.healthz)
	open("GET /ping", h.pingRaw)
	open("GET /v2/ping", h.ping)
	open("POST /v2/sessions", h.createSession)
	open("GET /v2/session/auth", h.completeSession)
	open("GET /assets/splash.html", splash)
	authed("DELETE /v2/session", h.deleteSession)
	authed("GET /v2/whoami", h.whoami)
	authed("POST /v2/session/sign-in-codes", h.createSignInCode) // our addition (docs/api.md)

	authed("POST /v2/projects", h.createProject)
	authed("GET /v2/projects", h.listProjects)
	authed("GET /v2/projects/{id}", h.getProject)
	authed("PUT /v2/projects/{id}", h.updateProject)
	authed("DELETE /v2/projects/{id}", h.deleteProject)
	authed("GET /v2/projects/{id}/secrets", h.listSecrets)
	authed("PUT /v2/projects/{id}/secrets/{key}", h.setSecret)
	authed("DELETE /v2/projects/{id}/secrets/{key}", h.unsetSecret)
	authed("POST /v2/projects/{id}/generic-gateway-secret/verifications", h.verifyGenericGatewaySecret) // our addition (docs/api.md)

	authed("POST /v2/events", h.createEvent)
	authed("GET /v2/events", h.listEvents)
	authed("DELETE /v2/events", h.deleteManyEvents)
	authed("POST /v2/events/cancellations", h.cancelManyEvents)
	authed("GET /v2/events/{id}", h.getEvent)
	authed("DELETE /v2/events/{id}", h.deleteEvent)
	authed("POST /v2/events/{id}/clones", h.cloneEvent)
	authed("POST /v2/events/{id}/retries", h.retryEvent)
	authed("PUT /v2/events/{id}/source-state", h.updateSourceState)
	authed("PUT /v2/events/{id}/summary", h.updateSummary)
	authed("PUT /v2/events/{id}/cancellation", h.cancelEvent)
	authed("GET /v2/events/{id}/logs", h.logs)
	authed("POST /v2/events/{id}/logs", h.appendWorkerLog)

	authed("PUT /v2/events/{id}/worker/start", h.startWorker)
	authed("GET /v2/events/{id}/worker/status", h.workerStatus)
	authed("PUT /v2/events/{id}/worker/status", h.updateWorkerStatus)
	authed("PUT /v2/events/{id}/worker/cleanup", h.cleanupWorker)
	authed("PUT /v2/events/{id}/worker/timeout", h.timeoutWorker)
	authed("GET /v2/events/{id}/worker/secrets", h.workerSecrets) // our addition (docs/api.md)

	authed("POST /v2/events/{id}/worker/jobs", h.createJob)
	authed("PUT /v2/events/{id}/worker/jobs/{job}/start", h.startJob)
	authed("GET /v2/events/{id}/worker/jobs/{job}/status", h.jobStatus)
	authed("PUT /v2/events/{id}/worker/jobs/{job}/status", h.updateJobStatus)
	authed("PUT /v2/events/{id}/worker/jobs/{job}/cleanup", h.cleanupJob)
	authed("PUT /v2/events/{id}/worker/jobs/{job}/timeout", h.timeoutJob)

	authed("GET /v2/substrate/running-workers", h.runningWorkers)
	authed("GET /v2/substrate/running-jobs", h.runningJobs)

	h.principalRoutes(authed)
	authed("GET /v2/audit", h.listAudit)

	return h.audited(h.recover(cors(CleanPath(h.checkURLText(h.fallback(mux))))))
}

// CleanPath normalises "//v2/x" and "/v2/x/" in place instead of
// redirecting: a redirect would turn a POST into a GET in Go's client (and
// a browser's EventSource cannot follow a relative one). The server puts
// it in front of everything it serves, gateways included.
// It cleans the path as sent, escapes and all: an escaped slash inside a
// segment ("a%2F..%2Fb", an id) stays inside that segment, where
// validation refuses it, instead of becoming a "/.." that climbs into
// another route.
func CleanPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if p != "/" && p != "" && !isClean(p) {
			c := path.Clean("/" + p)
			if c != p {
				if u, err := url.PathUnescape(c); err == nil {
					r.URL.Path, r.URL.RawPath = u, c
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isClean reports whether path.Clean would leave p as it is, without
// building the string to compare: absolute, no empty, "." or ".." element,
// no trailing slash.
func isClean(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasSuffix(p, "/") &&
		!strings.Contains(p, "//") && !strings.Contains(p, "/.")
}

// cors is permissive, as the reference server is: any origin, credentials
// allowed, the four methods, Authorization and Content-Type headers.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			hd := w.Header()
			hd.Set("Access-Control-Allow-Origin", origin)
			hd.Set("Access-Control-Allow-Credentials", "true")
			hd.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				hd.Set("Access-Control-Allow-Methods", "DELETE, GET, POST, PUT")
				hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
				w.WriteHeader(http.StatusOK)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// detach keeps mutations running when the caller hangs up: a client that
// disconnects after sending an event must not leave it half-made. Streams
// (GET) still stop on disconnect. Authenticated routes detach in
// authenticate, with the principal in the same new context.
func detach(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ctx := detached(r); ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// detached is r's context, without its cancellation for a mutation.
func detached(r *http.Request) context.Context {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return context.WithoutCancel(r.Context())
	}
	return r.Context()
}

// recover turns a panic into a 500 with Brigade's error body, so no panic
// reaches a user.
func (h *handler) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
					"panic", v, "stack", string(debug.Stack()))
				writeRaw(w, http.StatusInternalServerError,
					[]byte(`{"kind":"InternalServerError","apiVersion":"brigade.sh/v2"}`))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves the bearer token into a principal (401 otherwise)
// and detaches mutations (see detach).
func (h *handler) authenticate(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := bearer(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		ctx := detached(r)
		p, err := h.svc.Authenticate(ctx, token)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		notePrincipal(ctx, p)
		next(w, r.WithContext(auth.With(ctx, p)))
	})
}

func bearer(r *http.Request) (string, error) {
	hdr := r.Header.Get("Authorization")
	if hdr == "" {
		return "", &core.AuthenticationError{Reason: `"Authorization" header is missing. Log in and send "Authorization: Bearer <token>".`}
	}
	scheme, token, ok := strings.Cut(hdr, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return "", &core.AuthenticationError{Reason: `"Authorization" header is malformed. Send "Authorization: Bearer <token>".`}
	}
	return strings.TrimSpace(token), nil
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Ready(r.Context()); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, []byte("ok"))
}

func (h *handler) pingRaw(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("version " + h.opts.Version + " -- commit " + h.opts.Commit))
}

func (h *handler) ping(w http.ResponseWriter, r *http.Request) {
	// Brigade capitalises these keys; the JS SDK's type says lowercase, so
	// both spellings are sent (Go's decoder takes either).
	h.writeKind(w, r, http.StatusOK, "PingResponse", map[string]string{
		"Version": h.opts.Version, "Commit": h.opts.Commit,
		"version": h.opts.Version, "commit": h.opts.Commit,
	})
}

func (h *handler) createSession(w http.ResponseWriter, r *http.Request) {
	refund, ok := h.takeLoginToken(w, r)
	if !ok {
		return
	}
	if !queryBool(r, "root") {
		details, err := h.svc.CreateUserSession(r.Context(), r.URL.Query().Get("successURL"))
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeKind(w, r, http.StatusCreated, "ThirdPartyAuthDetails", details)
		return
	}
	user, pass, ok := r.BasicAuth()
	tok, err := h.svc.CreateRootSession(r.Context(), user, pass, ok)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	refund()
	notePrincipal(r.Context(), auth.Root(""))
	h.writeKind(w, r, http.StatusCreated, "Token", tok)
}

func (h *handler) deleteSession(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteSession(r.Context()); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}

// createSignInCode gives a session a one-time code that signs a browser
// in to the dashboard (brig dashboard).
func (h *handler) createSignInCode(w http.ResponseWriter, r *http.Request) {
	code, err := h.svc.CreateSignInCode(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.writeKind(w, r, http.StatusCreated, "SignInCode", code)
}

func (h *handler) whoami(w http.ResponseWriter, r *http.Request) {
	ref, err := h.svc.WhoAmI(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "PrincipalReference", ref)
}
