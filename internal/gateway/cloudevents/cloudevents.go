// Package cloudevents is the CloudEvents 1.0 gateway: it turns CloudEvents
// sent over HTTP (binary, structured or batch mode; 0.3 too) into Brigade
// events of source brigade.sh/cloudevents and type cloudevent, qualified
// by the CloudEvent's source and type (docs/gateways.md, "CloudEvents").
//
// A sender authenticates with a Brigade token of its own, and the events
// are created with that token: the API decides whether the sender may
// create them (EVENT_CREATOR for brigade.sh/cloudevents).
package cloudevents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
)

// Name and Source of the gateway, and the type of its events.
const (
	Name      = "cloudevents"
	Source    = "brigade.sh/cloudevents"
	EventType = "cloudevent"
)

// DefaultMaxBodyBytes is the default of --cloudevents-max-body-bytes.
const DefaultMaxBodyBytes = 1 << 20

// Config is the gateway's configuration.
type Config struct {
	// MaxBodyBytes bounds a request's body; a longer one is answered 413.
	// Zero is DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Flags registers the gateway's flags on f.
func (c *Config) Flags(f *pflag.FlagSet) {
	f.Int64Var(&c.MaxBodyBytes, "cloudevents-max-body-bytes", DefaultMaxBodyBytes,
		"largest CloudEvents request body (a whole batch) the cloudevents gateway accepts; larger ones get 413")
}

// Gateway is the CloudEvents gateway.
type Gateway struct {
	limit  int64
	env    gateway.Env
	tokens *verifier
}

// New makes the gateway.
func New(cfg Config, env gateway.Env) (*Gateway, error) {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("--cloudevents-max-body-bytes %d: give a positive number of bytes", cfg.MaxBodyBytes)
	}
	return &Gateway{limit: cfg.MaxBodyBytes, env: env, tokens: newVerifier()}, nil
}

// Name is "cloudevents".
func (g *Gateway) Name() string { return Name }

// Source is the source of the events it creates.
func (g *Gateway) Source() string { return Source }

// Run returns at once: the gateway has no background work.
func (g *Gateway) Run(ctx context.Context) error { return nil }

// Routes are POST and OPTIONS of /gateways/cloudevents, or of /events when
// the gateway runs alone.
func (g *Gateway) Routes(alone bool) []gateway.Route {
	path := "/gateways/cloudevents"
	if alone {
		path = "/events"
	}
	return []gateway.Route{
		{Pattern: "POST " + path, Handler: http.HandlerFunc(g.receive)},
		{Pattern: "OPTIONS " + path, Handler: http.HandlerFunc(handshake)},
	}
}

// receive handles a delivery. The order is the one docs/gateways.md gives
// every gateway: a request without a token is refused at once; the body
// is read within the limit; the token is checked with the API; only then
// is the body parsed, mapped and the events created with the token.
func (g *Gateway) receive(w http.ResponseWriter, r *http.Request) {
	token := bearer(r)
	if token == "" {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	body, err := gateway.ReadBody(r, g.limit)
	if errors.Is(err, gateway.ErrBodyTooLarge) {
		writeError(w, &problem{status: http.StatusRequestEntityTooLarge,
			reason: fmt.Sprintf("the request body is larger than the limit of %d bytes", g.limit)})
		return
	}
	if err != nil {
		writeError(w, badRequest("reading the request body: %v", err))
		return
	}
	api := g.env.API.WithToken(token)
	if err := g.tokens.verify(r.Context(), api, token); err != nil {
		g.refuse(w, r, err)
		return
	}
	events, err := parse(r.Header, body)
	if err != nil {
		writeError(w, err)
		return
	}
	inBatch := mediaType(r.Header.Get("Content-Type")) == mediaBatch
	mapped := make([]*core.Event, len(events))
	for i, e := range events {
		at := ""
		if inBatch {
			at = fmt.Sprintf("batch element %d: ", i)
		}
		if mapped[i], err = toBrigade(e, at); err != nil {
			writeError(w, err)
			return
		}
	}
	ids := []string{}
	for i, ev := range mapped {
		created, _, err := api.CreateEventOnce(r.Context(), ev, deliveryKey(events[i].str("source"), events[i].str("id")))
		if err != nil {
			g.refuse(w, r, err)
			return
		}
		for _, c := range created {
			ids = append(ids, c.Metadata.ID)
		}
	}
	gateway.WriteJSON(w, http.StatusOK, map[string][]string{"eventIDs": ids})
}

// refuse answers a failed API call: the caller's token refused is 403
// with an empty body, as for a missing token; anything else is the API's
// failure, logged with its cause.
func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch apiStatus(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		g.env.Log.Info("cloudevent refused: the sender's token may not create it", "route", r.Pattern, "reason", err)
		w.WriteHeader(http.StatusForbidden)
	case http.StatusTooManyRequests:
		if tm, ok := errors.AsType[*core.TooManyRequestsError](err); ok && tm.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(tm.RetryAfter.Round(time.Second)/time.Second)))
		}
		writeError(w, &problem{status: http.StatusTooManyRequests, reason: "the Brigade API is busy: try again later"})
	case http.StatusRequestEntityTooLarge:
		writeError(w, &problem{status: http.StatusRequestEntityTooLarge,
			reason: "the event is larger than the Brigade API accepts: send less data"})
	case http.StatusBadRequest:
		g.env.Log.Error("the Brigade API refused a cloudevent", "route", r.Pattern, "error", err)
		writeError(w, &problem{status: http.StatusBadGateway, reason: "the Brigade API refused the event: " + err.Error()})
	default:
		g.env.Log.Error("creating a cloudevent failed", "route", r.Pattern, "error", err)
		writeError(w, &problem{status: http.StatusBadGateway, reason: "the Brigade API failed; the cause is in the gateway's log"})
	}
}

// apiStatus is the status the API answered with, 0 if it did not answer.
func apiStatus(err error) int {
	var (
		apiErr  *client.APIError
		bad     *core.BadRequestError
		authn   *core.AuthenticationError
		authz   *core.AuthorizationError
		tooMany *core.TooManyRequestsError
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr.StatusCode
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.As(err, &authn):
		return http.StatusUnauthorized
	case errors.As(err, &authz):
		return http.StatusForbidden
	case errors.As(err, &tooMany):
		return http.StatusTooManyRequests
	}
	return 0
}

// toBrigade maps a CloudEvent to the Brigade event made of it; at names
// its place in a batch ("" for a single event).
func toBrigade(e event, at string) (*core.Event, error) {
	q := map[string]string{"source": e.str("source"), "type": e.str("type")}
	for _, k := range []string{"source", "type"} {
		if bad := qualifierProblem(q[k]); bad != "" {
			return nil, &problem{status: http.StatusUnprocessableEntity, reason: fmt.Sprintf(
				"%sthe CloudEvent's %s %q becomes the Brigade qualifier %q, whose values %s, so no project could "+
					"subscribe to it; send a %s without them", at, k, q[k], k, bad, k)}
		}
	}
	return &core.Event{Source: Source, Type: EventType, Qualifiers: q, Payload: e.structured()}, nil
}

// qualifierProblem says why s cannot be a qualifier value ("" if it can):
// 1–255 characters, each a letter, digit or one of _ : / - . ? = *.
func qualifierProblem(s string) string {
	if len(s) > 255 {
		return "are at most 255 characters long"
	}
	var bad []rune
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		switch c {
		case '_', ':', '/', '-', '.', '?', '=', '*':
			ok = true
		}
		if !ok && len(bad) < 5 {
			bad = append(bad, c)
		}
	}
	if len(bad) > 0 {
		return fmt.Sprintf("may hold only letters, digits and _ : / - . ? = * (not %q)", string(bad))
	}
	return ""
}

// deliveryKey is the Idempotency-Key of a CloudEvent: its source and id,
// which a producer keeps unique. The source's length goes first, so that
// no two pairs share a key; a key that would be too long for the API or
// hold control characters is hashed instead.
func deliveryKey(source, id string) string {
	key := "ce:" + strconv.Itoa(len(source)) + ":" + source + ":" + id
	printable := true
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			printable = false
			break
		}
	}
	if printable && len(key) <= 255 {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "ce-sha256:" + hex.EncodeToString(sum[:])
}

// writeError answers a problem with Brigade's error body.
func writeError(w http.ResponseWriter, err error) {
	p, ok := errors.AsType[*problem](err)
	if !ok {
		p = &problem{status: http.StatusInternalServerError, reason: err.Error()}
	}
	kinds := map[int]string{
		http.StatusBadRequest:            "BadRequestError",
		http.StatusRequestEntityTooLarge: "RequestEntityTooLargeError",
		http.StatusUnsupportedMediaType:  "UnsupportedMediaTypeError",
		http.StatusUnprocessableEntity:   "UnprocessableEntityError",
		http.StatusTooManyRequests:       "TooManyRequestsError",
		http.StatusBadGateway:            "BadGatewayError",
	}
	kind, ok := kinds[p.status]
	if !ok {
		kind = "InternalServerError"
	}
	gateway.WriteJSON(w, p.status, map[string]string{"apiVersion": core.APIVersion, "kind": kind, "reason": p.reason})
}
