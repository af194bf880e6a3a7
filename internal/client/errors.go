package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// APIError is an unexpected reply that is not one of Brigade's typed errors:
// a status such as 413 or 500, or a typed status whose body is not Brigade's
// error JSON.
type APIError struct {
	StatusCode int
	Body       string // trimmed, at most maxErrorBody bytes
}

func (e *APIError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("received %d from API server", e.StatusCode)
	}
	return fmt.Sprintf("received %d from API server: %s", e.StatusCode, e.Body)
}

// maxErrorBody bounds how much of an error reply is read.
const maxErrorBody = 64 << 10

// decodeError turns a reply with an unexpected status into an error (see
// the package doc).
func decodeError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	raw = bytes.TrimSpace(raw)
	var target error
	switch resp.StatusCode {
	case http.StatusBadRequest:
		target = &core.BadRequestError{}
	case http.StatusUnauthorized:
		target = &core.AuthenticationError{}
	case http.StatusForbidden:
		target = &core.AuthorizationError{}
	case http.StatusNotFound:
		target = &core.NotFoundError{}
	case http.StatusConflict:
		target = &core.ConflictError{}
	case http.StatusNotImplemented:
		target = &core.NotSupportedError{}
	case http.StatusTooManyRequests:
		tm := &core.TooManyRequestsError{}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			tm.RetryAfter = time.Duration(secs) * time.Second
		}
		target = tm
	}
	if target != nil && isJSONObject(raw) {
		if err := json.Unmarshal(raw, target); err == nil {
			return target
		}
	}
	return &APIError{StatusCode: resp.StatusCode, Body: strings.ToValidUTF8(string(raw), "?")}
}

func isJSONObject(b []byte) bool {
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
