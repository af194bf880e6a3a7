// Package gateway holds what every built-in gateway shares: how a gateway
// is described (its routes and background work), how it reads a request
// body within a limit, and how it is served, either mounted on
// `brigade server` or alone (`brigade gateway NAME`, see Serve).
//
// A gateway turns what the outside world sends (a webhook, a CloudEvent, a
// schedule) into Brigade events, and creates them through the API with
// its own token, exactly as a gateway written by anyone else would
// (docs/gateways.md). Mounted on the server it gets a token that the
// server makes up at start; alone, a service account's.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/brigadeplatform/brigade/internal/client"
)

// Route is one endpoint of a gateway: a net/http ServeMux pattern with its
// method ("POST /gateways/github") and the handler that serves it.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Gateway is a built-in gateway, built from its configuration.
type Gateway interface {
	// Name is how `brigade gateway NAME` and the logs call it.
	Name() string
	// Source is the event source of the events it creates (its token
	// may create events of that source only).
	Source() string
	// Routes are its endpoints; alone says whether it runs on its own
	// (`brigade gateway NAME`), where paths are shorter than when mounted
	// on the server. A gateway without endpoints (cron) has none.
	Routes(alone bool) []Route
	// Run does its background work (firing schedules, reporting results)
	// until ctx ends; it returns nil at once if there is none.
	Run(ctx context.Context) error
}

// Env is what a gateway is built with.
type Env struct {
	// API is a client of the Brigade API holding the gateway's token.
	API *client.Client
	Log *slog.Logger
}

// ErrBodyTooLarge is returned by ReadBody for a body over its limit.
var ErrBodyTooLarge = errors.New("request body too large")

// ReadBody reads r's whole body, at most limit bytes: a longer body is
// ErrBodyTooLarge, after reading no more than limit+1 bytes of it (the
// caller answers 413 and parses nothing).
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrBodyTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// WriteJSON answers with status and v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding the reply failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
