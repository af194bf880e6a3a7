package httpapi

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/audit"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/httpx"
)

// auditNote collects, while a state-changing request is served, what its
// audit entry needs beyond the request itself.
type auditNote struct {
	principal *auth.Principal
	objects   []string // set by handlers that create objects
	err       string
}

type auditKey struct{}

func noteOf(ctx context.Context) *auditNote {
	n, _ := ctx.Value(auditKey{}).(*auditNote)
	return n
}

// notePrincipal records who made the request (authenticate, logins).
func notePrincipal(ctx context.Context, p *auth.Principal) {
	if n := noteOf(ctx); n != nil {
		n.principal = p
	}
}

// noteObjects names the objects a request created, e.g. "projects/p1";
// one entry is kept for each.
func noteObjects(ctx context.Context, objects ...string) {
	if n := noteOf(ctx); n != nil {
		n.objects = append(n.objects, objects...)
	}
}

// noteError records why a request was refused or failed (writeError).
func noteError(ctx context.Context, err error) {
	if n := noteOf(ctx); n != nil {
		n.err = truncate(err.Error(), 1000)
	}
}

func isMutation(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// audited records every state-changing request (docs/hardening.md, "Audit
// log"): it wraps the whole handler, panic recovery included, so every
// answer is seen.
func (h *handler) audited(next http.Handler) http.Handler {
	if h.opts.Audit == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The third-party login's callback is a GET that logs a person in.
		if !isMutation(r.Method) && r.URL.Path != "/v2/session/auth" {
			next.ServeHTTP(w, r)
			return
		}
		note := &auditNote{}
		r = r.WithContext(context.WithValue(r.Context(), auditKey{}, note))
		sw := httpx.NewStatusWriter(w)
		next.ServeHTTP(sw, r)
		e := core.AuditEntry{
			Principal: audit.PrincipalOf(note.principal),
			Action:    r.Method + " " + routeOf(r),
			Client:    clientHost(r),
			Status:    statusOf(sw),
			Error:     note.err,
		}
		objects := note.objects
		if len(objects) == 0 {
			objects = []string{objectOf(r)}
		}
		for _, o := range objects {
			e.Object = o
			h.opts.Audit.Record(e)
		}
	})
}

// routeOf is the pattern that served r without its method, or, when no
// route matched, its path (cut short).
func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return truncate(r.URL.Path, 200)
	}
	_, p, ok := strings.Cut(r.Pattern, " ")
	if !ok {
		return r.Pattern
	}
	return p
}

// objectOf names what r acted on, from its route: the path after /v2/ up
// to its last wildcard, with the wildcards' values ("PUT
// /v2/events/{id}/worker/jobs/{job}/start" acted on
// "events/e1/worker/jobs/build"); a route without one names its
// collection ("events/cancellations").
func objectOf(r *http.Request) string {
	if r.Pattern == "" {
		return ""
	}
	_, p, _ := strings.Cut(r.Pattern, " ")
	segs := strings.Split(strings.TrimPrefix(strings.TrimPrefix(p, "/"), "v2/"), "/")
	last := -1
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			name := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
			segs[i] = r.PathValue(strings.TrimSuffix(name, "..."))
			last = i
		}
	}
	if last >= 0 {
		segs = segs[:last+1]
	}
	return truncate(strings.Join(segs, "/"), 500)
}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// statusOf is the status of a reply: 200 when nothing was written.
func statusOf(w *httpx.StatusWriter) int {
	if s := w.Status(); s != 0 {
		return s
	}
	return http.StatusOK
}

// listAudit answers GET /v2/audit, an addition to Brigade's API (see
// docs/api.md, "Audit log"). Entries recorded before the request are
// written first, so a caller sees its own earlier calls.
func (h *handler) listAudit(w http.ResponseWriter, r *http.Request) {
	opts, err := listOptions(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	sel := core.AuditSelector{
		PrincipalKind: q.Get("principalType"), PrincipalID: q.Get("principalID"),
		Action: q.Get("action"), Object: q.Get("object"),
	}
	for name, dst := range map[string]*time.Time{"since": &sel.Since, "until": &sel.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				h.writeError(w, r, core.NewBadRequest(
					`Invalid value "`+v+`" for "`+name+`" query parameter: use an RFC 3339 time such as 2024-03-01T12:00:00Z`))
				return
			}
			*dst = t
		}
	}
	if h.opts.Audit != nil && auth.From(r.Context()).HasRole(auth.RoleAdmin, "") {
		if err := h.opts.Audit.Flush(r.Context()); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	items, meta, err := h.svc.ListAudit(r.Context(), sel, opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeListBody(h, w, r, "AuditEntryList", "AuditEntry", items, meta)
}
