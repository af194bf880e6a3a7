package github

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
)

// Gateway is the GitHub gateway.
type Gateway struct {
	cfg  Config
	env  gateway.Env
	apps map[int64]*App
	gh   *githubAPI // nil when no App has a key
	// forwards are the check suite requests waiting for Run.
	forwards chan checkSuiteRequest
}

// Name is "github".
func (g *Gateway) Name() string { return "github" }

// Source is brigade.sh/github.
func (g *Gateway) Source() string { return Source }

// Routes is the webhook endpoint.
func (g *Gateway) Routes(alone bool) []gateway.Route {
	p := "POST /gateways/github"
	if alone {
		p = "POST /events"
	}
	return []gateway.Route{{Pattern: p, Handler: http.HandlerFunc(g.receive)}}
}

// Headers GitHub sends with a delivery.
const (
	hdrEvent      = "X-GitHub-Event"
	hdrDelivery   = "X-GitHub-Delivery"
	hdrHookID     = "X-GitHub-Hook-ID"
	hdrTargetType = "X-GitHub-Hook-Installation-Target-Type"
	hdrTargetID   = "X-GitHub-Hook-Installation-Target-ID"
	hdrSig256     = "X-Hub-Signature-256"
	hdrSig1       = "X-Hub-Signature"
)

// sender is who a delivery comes from, known from its headers alone.
type sender struct {
	secret string
	app    *App // nil for a repository or organization webhook
}

// senderOf picks the secret a delivery must be signed with from its
// headers, before anything of the body is looked at: a GitHub App's
// (target type "integration", target ID = App ID) or the webhook secret.
func (g *Gateway) senderOf(h http.Header) (sender, bool) {
	if strings.EqualFold(h.Get(hdrTargetType), "integration") {
		id, err := strconv.ParseInt(h.Get(hdrTargetID), 10, 64)
		if err != nil {
			return sender{}, false
		}
		app := g.apps[id]
		if app == nil {
			return sender{}, false
		}
		return sender{secret: app.SharedSecret, app: app}, true
	}
	if g.cfg.WebhookSecret == "" {
		return sender{}, false
	}
	return sender{secret: g.cfg.WebhookSecret}, true
}

// verify checks the delivery's signature: X-Hub-Signature-256 when it is
// there, otherwise (only when allowed) the legacy SHA-1 X-Hub-Signature.
func verify(h http.Header, body []byte, secret string, allowSHA1 bool) bool {
	if sig := h.Get(hdrSig256); sig != "" {
		return signed(sig, "sha256=", sha256.New, body, secret)
	}
	if sig := h.Get(hdrSig1); sig != "" && allowSHA1 {
		return signed(sig, "sha1=", sha1.New, body, secret)
	}
	return false
}

func signed(sig, prefix string, alg func() hash.Hash, body []byte, secret string) bool {
	hexSig, ok := strings.CutPrefix(sig, prefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(alg, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// receive serves a webhook delivery: read within the limit, verify, then
// parse, map and create.
func (g *Gateway) receive(w http.ResponseWriter, r *http.Request) {
	body, err := gateway.ReadBody(r, g.cfg.MaxBodyBytes)
	if errors.Is(err, gateway.ErrBodyTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeError",
			"the delivery is larger than the gateway's limit of "+strconv.FormatInt(g.cfg.MaxBodyBytes, 10)+" bytes (--github-webhook-max-bytes)")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", "reading the delivery failed: "+err.Error())
		return
	}
	from, ok := g.senderOf(r.Header)
	if !ok || !verify(r.Header, body, from.secret, g.cfg.AllowSHA1) {
		why := "its signature does not match the secret"
		if !ok {
			why = "no secret is configured for its sender"
		}
		g.env.Log.Debug("GitHub delivery refused: "+why, "event", r.Header.Get(hdrEvent),
			"delivery", r.Header.Get(hdrDelivery), "targetType", r.Header.Get(hdrTargetType), "targetID", r.Header.Get(hdrTargetID))
		w.WriteHeader(http.StatusForbidden)
		return
	}
	name := r.Header.Get(hdrEvent)
	if name == "" {
		writeError(w, http.StatusBadRequest, "BadRequestError", "the delivery has no "+hdrEvent+" header")
		return
	}
	d := delivery{name: name, app: from.app, hookID: r.Header.Get(hdrHookID), key: deliveryKey(r.Header)}
	evs, err := mapDelivery(d, body)
	if err != nil {
		var ie *invalidError
		if errors.As(err, &ie) {
			writeError(w, http.StatusUnprocessableEntity, "BadRequestError", ie.reason)
			return
		}
		writeError(w, http.StatusBadRequest, "BadRequestError", "the delivery's body is not a GitHub "+name+" payload: "+err.Error())
		return
	}
	if from.app != nil && from.app.Key != nil {
		g.forwardCheckSuite(d, body)
	}
	ids, err := g.create(r.Context(), evs)
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusRequestEntityTooLarge {
		g.env.Log.Warn("a GitHub delivery is larger than the Brigade API takes as an event payload: raise the API's --max-body-bytes",
			"event", name, "delivery", r.Header.Get(hdrDelivery), "bytes", len(body))
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeError",
			"an event with this delivery as its payload is larger than the Brigade API takes (its --max-body-bytes)")
		return
	}
	if err != nil {
		g.env.Log.Error("creating events of a GitHub delivery failed", "event", name,
			"delivery", r.Header.Get(hdrDelivery), "error", err)
		writeError(w, http.StatusBadGateway, "InternalServerError", "the Brigade API did not take the events of this delivery; it can be redelivered")
		return
	}
	gateway.WriteJSON(w, http.StatusOK, map[string][]string{"eventIDs": ids})
}

// keyedEvent is an event to create with its idempotency key.
type keyedEvent struct {
	ev  core.Event
	key string
}

// create sends the events in order, each with its own key, and returns
// the IDs of what they created (or of what their first delivery created).
func (g *Gateway) create(ctx context.Context, evs []keyedEvent) ([]string, error) {
	ids := []string{}
	for i := range evs {
		created, _, err := g.env.API.CreateEventOnce(ctx, &evs[i].ev, evs[i].key)
		if err != nil && evs[i].ev.ProjectID != "" && core.IsNotFound(err) {
			// A check run named "x:y" by another App, x not a project here.
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range created {
			ids = append(ids, e.Metadata.ID)
		}
	}
	return ids, nil
}

// maxKey is the longest Idempotency-Key the API takes.
const maxKey = 255

// deliveryKey is the identity of a delivery: the hook (or, without its ID,
// the installation target) and GitHub's delivery GUID, which every hook
// subscribed to the same event shares. Empty without a delivery GUID.
func deliveryKey(h http.Header) string {
	guid := h.Get(hdrDelivery)
	if guid == "" {
		return ""
	}
	hook := h.Get(hdrHookID)
	if hook == "" {
		hook = h.Get(hdrTargetType) + ":" + h.Get(hdrTargetID)
	}
	return "hook/" + hook + "/" + guid
}

// subKey is the key of one of several events a delivery makes.
func subKey(key, part string) string {
	if key == "" {
		return ""
	}
	if part != "" {
		key += "/" + part
	}
	if len(key) > maxKey || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		sum := sha256.Sum256([]byte(key))
		key = "sha256/" + hex.EncodeToString(sum[:])
	}
	return key
}

// writeError answers with Brigade's error body.
func writeError(w http.ResponseWriter, status int, kind, reason string) {
	b, _ := json.Marshal(map[string]string{"apiVersion": "brigade.sh/v2", "kind": kind, "reason": reason})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
