package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/schema"
)

// enveloped encodes v as JSON with "kind" and "apiVersion" as its first two
// keys (docs/api.md, "Envelopes: kind and apiVersion").
func enveloped(kind string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return appendEnveloped(make([]byte, 0, len(b)+len(kind)+48), kind, b)
}

// appendEnveloped appends the encoded object b with its envelope to dst.
func appendEnveloped(dst []byte, kind string, b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("cannot envelope a non-object %s", kind)
	}
	dst = append(dst, `{"kind":"`...)
	dst = append(dst, kind...)
	dst = append(dst, `","apiVersion":"`...)
	dst = append(dst, core.APIVersion...)
	dst = append(dst, '"')
	if len(b) == 2 { // {}
		return append(dst, '}'), nil
	}
	dst = append(dst, ',')
	return append(dst, b[1:]...), nil
}

// listBody encodes a list of enveloped items (docs/api.md, "Lists and
// pagination"). items is always
// emitted, as [] when empty, which both SDKs accept. The items are encoded
// once, straight into the list, not encoded and then copied (and
// re-validated) as raw JSON.
func listBody[T any](kind, itemKind string, items []T, meta core.ListMeta) ([]byte, error) {
	m, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	encoded := make([][]byte, len(items))
	size := len(kind) + len(m) + 64
	for i := range items {
		if encoded[i], err = json.Marshal(&items[i]); err != nil {
			return nil, err
		}
		size += len(itemKind) + len(encoded[i]) + 48
	}
	// The list's own head, as appendEnveloped writes it, then its keys.
	out := append(make([]byte, 0, size), `{"kind":"`...)
	out = append(out, kind...)
	out = append(out, `","apiVersion":"`...)
	out = append(out, core.APIVersion...)
	out = append(out, `","metadata":`...)
	out = append(out, m...)
	out = append(out, `,"items":[`...)
	for i, b := range encoded {
		if i > 0 {
			out = append(out, ',')
		}
		if out, err = appendEnveloped(out, itemKind, b); err != nil {
			return nil, err
		}
	}
	return append(out, "]}"...), nil
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// writeKind writes v with its envelope.
func (h *handler) writeKind(w http.ResponseWriter, r *http.Request, status int, kind string, v any) {
	b, err := enveloped(kind, v)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("encoding %s: %w", kind, err))
		return
	}
	writeRaw(w, status, b)
}

// writePlain writes v without an envelope (WorkerStatus, JobStatus).
func (h *handler) writePlain(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("encoding reply: %w", err))
		return
	}
	writeRaw(w, status, b)
}

// writeNull answers a "void" operation: the body is the JSON literal null.
func writeNull(w http.ResponseWriter, status int) { writeRaw(w, status, []byte("null")) }

// writeError maps an error to Brigade's error body and status, in exactly
// one place. Untyped errors are logged and become a bare 500.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, kind, body := classify(err)
	noteError(r.Context(), err)
	if tm, ok := errors.AsType[*core.TooManyRequestsError](err); ok && tm.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(tm.RetryAfter.Round(time.Second)/time.Second)))
	}
	if status == http.StatusInternalServerError {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	} else {
		h.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	}
	b, encErr := enveloped(kind, body)
	if encErr != nil {
		b = []byte(`{"kind":"InternalServerError","apiVersion":"brigade.sh/v2"}`)
	}
	writeRaw(w, status, b)
}

func classify(err error) (int, string, any) {
	var (
		bad      *core.BadRequestError
		authn    *core.AuthenticationError
		authz    *core.AuthorizationError
		notFound *core.NotFoundError
		conflict *core.ConflictError
		notSupp  *core.NotSupportedError
		tooLarge *core.RequestTooLargeError
		tooMany  *core.TooManyRequestsError
		maxBytes *http.MaxBytesError
	)
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest, "BadRequestError", bad
	case errors.As(err, &authn):
		return http.StatusUnauthorized, "AuthenticationError", authn
	case errors.As(err, &authz):
		return http.StatusForbidden, "AuthorizationError", authz
	case errors.As(err, &notFound):
		return http.StatusNotFound, "NotFoundError", notFound
	case errors.As(err, &conflict):
		return http.StatusConflict, "ConflictError", conflict
	case errors.As(err, &notSupp):
		return http.StatusNotImplemented, "NotSupportedError", notSupp
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "RequestEntityTooLargeError", struct {
			Reason string `json:"reason"`
		}{tooLarge.Error()}
	case errors.As(err, &tooMany):
		return http.StatusTooManyRequests, "TooManyRequestsError", tooMany
	case errors.As(err, &maxBytes):
		return http.StatusRequestEntityTooLarge, "RequestEntityTooLargeError", struct {
			Reason string `json:"reason"`
		}{fmt.Sprintf("request body is larger than the limit of %d bytes", maxBytes.Limit)}
	}
	return http.StatusInternalServerError, "InternalServerError", struct{}{}
}

// readBody reads the whole body within the configured limit.
func (h *handler) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > h.opts.MaxBodyBytes {
		return nil, &core.RequestTooLargeError{Limit: h.opts.MaxBodyBytes}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, h.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, core.NewBadRequest("Could not read request body", err.Error())
	}
	if int64(len(b)) > h.opts.MaxBodyBytes {
		return nil, &core.RequestTooLargeError{Limit: h.opts.MaxBodyBytes}
	}
	return b, nil
}

// decode reads the body, validates it against the schema of kind, and
// unmarshals it into v.
func (h *handler) decode(r *http.Request, kind string, v any) error {
	b, err := h.readBody(r)
	if err != nil {
		return err
	}
	return decodeBody(b, kind, v)
}

// decodeBody is decode without the HTTP request (and fuzzed as such).
func decodeBody(b []byte, kind string, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return core.NewBadRequest(schema.ReasonMalformed, "the request body is empty; send a "+kind+" object")
	}
	if err := schema.Validate(kind, b); err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return core.NewBadRequest(schema.ReasonMalformed, err.Error())
	}
	return nil
}

// discardLogger is used when none is given.
var discardLogger = slog.New(slog.DiscardHandler)
