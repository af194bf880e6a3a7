// Package generic is the generic webhook gateway with Brigade v1's paths:
// POST /simpleevents/v1/{projectID}/{secret} and
// POST /cloudevents/v02/{projectID}/{secret} (a CloudEvents 0.2 event in
// structured JSON). A project opts in by setting its project secret
// genericGatewaySecret, which the API checks for the gateway: the gateway
// never reads it. Its events carry source brigade.sh/generic and the
// path's project ID (docs/gateways.md, "Generic webhook").
package generic

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
)

// Name is the gateway's name (`brigade gateway generic`).
const Name = "generic"

// DefaultMaxBodyBytes is the request body limit unless configured.
const DefaultMaxBodyBytes = 1 << 20

// Config is the gateway's configuration.
type Config struct {
	// MaxBodyBytes is the largest body accepted (413 beyond it).
	MaxBodyBytes int64
}

// Flags registers the gateway's flags on f.
func (c *Config) Flags(f *pflag.FlagSet) {
	f.Int64Var(&c.MaxBodyBytes, "generic-max-body-bytes", DefaultMaxBodyBytes,
		"largest request body the generic webhook gateway accepts (413 beyond it)")
}

// Gateway is the generic webhook gateway.
type Gateway struct {
	maxBody int64
	env     gateway.Env
}

// New builds the gateway; a MaxBodyBytes of 0 takes the default.
func New(cfg Config, env gateway.Env) (*Gateway, error) {
	switch {
	case cfg.MaxBodyBytes == 0:
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("--generic-max-body-bytes %d must be positive", cfg.MaxBodyBytes)
	}
	return &Gateway{maxBody: cfg.MaxBodyBytes, env: env}, nil
}

// Name implements gateway.Gateway.
func (g *Gateway) Name() string { return Name }

// Source implements gateway.Gateway.
func (g *Gateway) Source() string { return core.GenericGatewaySource }

// Run implements gateway.Gateway: there is no background work.
func (g *Gateway) Run(context.Context) error { return nil }

// Routes implements gateway.Gateway: the paths are Brigade v1's, mounted
// or alone. Everything else under the two prefixes is answered here too
// (404, or 405 for another method), so that a mistyped URL, which holds a
// secret, never reaches a handler that would log or record its path.
func (g *Gateway) Routes(bool) []gateway.Route {
	return []gateway.Route{
		{Pattern: "POST /simpleevents/v1/{projectID}/{secret}", Handler: g.handler(simpleEvents)},
		{Pattern: "POST /cloudevents/v02/{projectID}/{secret}", Handler: g.handler(cloudEvents)},
		{Pattern: "/simpleevents/", Handler: http.HandlerFunc(elsewhere)},
		{Pattern: "/cloudevents/", Handler: http.HandlerFunc(elsewhere)},
	}
}

// endpoint is what differs between the two paths.
type endpoint struct {
	name    string // the path's first segment, part of delivery keys
	success string // the status of a success, as Brigade v1 said it
	// mapEvent makes the event from the body; a *refusal says what the
	// sender must fix (any other error is the gateway's own: 500).
	mapEvent func(projectID string, body []byte) (*core.Event, error)
}

var (
	simpleEvents = endpoint{name: "simpleevents", success: "Success. Build created", mapEvent: simpleEvent}
	cloudEvents  = endpoint{name: "cloudevents", success: "Success", mapEvent: cloudEvent}
)

// refusal is a request the gateway answers with status and message.
type refusal struct {
	status int
	msg    string
}

func (r *refusal) Error() string { return r.msg }

func badRequest(format string, args ...any) error {
	return &refusal{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// reply is the body of a refusal: status, as Brigade v1 said it.
type reply struct {
	Status string `json:"status"`
}

// created is the body of a success: also the IDs of the events created
// (for a repeated delivery, of the first delivery's, with replayed true).
type created struct {
	Status   string   `json:"status"`
	EventIDs []string `json:"eventIDs"`
	Replayed bool     `json:"replayed,omitempty"`
}

func status(w http.ResponseWriter, code int, msg string) {
	gateway.WriteJSON(w, code, reply{Status: msg})
}

// elsewhere answers what is under the gateway's prefixes but not one of
// its routes.
func elsewhere(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && (matches(r.URL.Path, "simpleevents", "v1") || matches(r.URL.Path, "cloudevents", "v02")) {
		w.Header().Set("Allow", http.MethodPost)
		status(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; send the event with POST")
		return
	}
	status(w, http.StatusNotFound, "no such endpoint: use POST /simpleevents/v1/{projectID}/{secret} or "+
		"POST /cloudevents/v02/{projectID}/{secret}")
}

// matches reports whether path is /first/second/{a}/{b}.
func matches(path, first, second string) bool {
	prefix := "/" + first + "/" + second + "/"
	if len(path) <= len(prefix) || path[:len(prefix)] != prefix {
		return false
	}
	rest := path[len(prefix):]
	slashes := 0
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			if i == 0 || i == len(rest)-1 || slashes > 0 {
				return false
			}
			slashes++
		}
	}
	return slashes == 1
}

func (g *Gateway) handler(ep endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := gateway.ReadBody(r, g.maxBody)
		if errors.Is(err, gateway.ErrBodyTooLarge) {
			status(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", g.maxBody))
			return
		}
		if err != nil {
			status(w, http.StatusBadRequest, "reading the request body failed")
			return
		}
		projectID := r.PathValue("projectID")
		if !projectIDShape(projectID) {
			// No project has such an ID; and asking the API about it
			// could put "/" or ".." into the API's path.
			status(w, http.StatusBadRequest, "project not found")
			return
		}
		if !g.verify(r.Context(), w, projectID, r.PathValue("secret")) {
			return
		}
		key, err := deliveryKey(ep.name, projectID, r.Header.Get("Idempotency-Key"))
		if err == nil {
			var ev *core.Event
			if ev, err = ep.mapEvent(projectID, body); err == nil {
				g.create(r.Context(), w, ep, ev, key)
				return
			}
		}
		var ref *refusal
		if errors.As(err, &ref) {
			status(w, ref.status, ref.msg)
			return
		}
		g.env.Log.Error("mapping a generic webhook request failed", "project", projectID, "error", err)
		status(w, http.StatusInternalServerError, "internal error")
	})
}

// projectIDShape reports whether id can be a project ID: 3 to 63
// lower-case letters, digits and dashes, starting with a letter and not
// ending with a dash.
func projectIDShape(id string) bool {
	if len(id) < 3 || len(id) > 63 || id[0] < 'a' || id[0] > 'z' || id[len(id)-1] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// verify asks the API whether secret is the project's generic gateway
// secret, and answers the request unless it is.
func (g *Gateway) verify(ctx context.Context, w http.ResponseWriter, projectID, secret string) bool {
	// What the API could not take (or would have to alter to send as
	// JSON) is no secret anyone set.
	if len(secret) > core.MaxGenericGatewaySecretLength || !utf8.ValidString(secret) {
		status(w, http.StatusUnauthorized, "secret is wrong")
		return false
	}
	res, err := g.env.API.VerifyGenericGatewaySecret(ctx, projectID, secret)
	var (
		notFound *core.NotFoundError
		tooMany  *core.TooManyRequestsError
	)
	switch {
	case err == nil:
	case errors.As(err, &notFound) && notFound.Type == "Project":
		status(w, http.StatusBadRequest, "project not found")
		return false
	case errors.As(err, &tooMany):
		if tooMany.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(tooMany.RetryAfter/time.Second)))
		}
		status(w, http.StatusTooManyRequests, "too many requests with a wrong secret for this project; try again later")
		return false
	default:
		g.apiFailed(w, "checking the secret of project "+projectID, err)
		return false
	}
	switch res {
	case core.SecretMatched:
		return true
	case core.SecretNotSet:
		status(w, http.StatusUnauthorized, "secret for this Brigade Project is empty: set the project secret "+
			core.GenericGatewaySecretKey+" to use the generic gateway")
	case core.SecretMismatched:
		status(w, http.StatusUnauthorized, "secret is wrong")
	default:
		g.apiFailed(w, "checking the secret of project "+projectID, fmt.Errorf("the API answered an unknown result %q", res))
	}
	return false
}

// create creates the event (once per delivery key) and answers with the
// IDs of the events made.
func (g *Gateway) create(ctx context.Context, w http.ResponseWriter, ep endpoint, ev *core.Event, key string) {
	evs, replayed, err := g.env.API.CreateEventOnce(ctx, ev, key)
	var (
		bad      *core.BadRequestError
		notFound *core.NotFoundError
	)
	switch {
	case errors.As(err, &notFound) && notFound.Type == "Project": // deleted since the check
		status(w, http.StatusBadRequest, "project not found")
		return
	case errors.As(err, &bad):
		// What the body said cannot be an event: a commit that is not a
		// commit ID, a CloudEvent source the qualifier rule refuses, ...
		msg := "Brigade refused the event: " + bad.Reason
		for _, d := range bad.Details {
			msg += "; " + d
		}
		status(w, http.StatusUnprocessableEntity, msg)
		return
	case err != nil:
		g.apiFailed(w, "creating an event for project "+ev.ProjectID, err)
		return
	}
	ids := make([]string, 0, len(evs))
	for _, e := range evs {
		ids = append(ids, e.Metadata.ID)
	}
	msg := ep.success
	if len(ids) == 0 {
		msg = fmt.Sprintf("Success, but no event was created: project %q does not subscribe to source %s, type %s",
			ev.ProjectID, ev.Source, ev.Type)
		if len(ev.Qualifiers) > 0 {
			msg += fmt.Sprintf(" with qualifiers source=%s and type=%s", ev.Qualifiers["source"], ev.Qualifiers["type"])
		}
	}
	gateway.WriteJSON(w, http.StatusOK, created{Status: msg, EventIDs: ids, Replayed: replayed})
}

// apiFailed answers 502 for an API call that failed (refused the
// gateway's token, unreachable, broken) and logs why: the sender cannot
// fix it, the operator can.
func (g *Gateway) apiFailed(w http.ResponseWriter, doing string, err error) {
	g.env.Log.Error("the Brigade API failed the generic gateway", "doing", doing, "error", err)
	status(w, http.StatusBadGateway, "the gateway's request to Brigade's API failed; the gateway's log says why")
}
