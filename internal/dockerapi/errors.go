package dockerapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// Error is the daemon's answer to a request it refused: its HTTP status
// and its message. IsNotFound and IsConflict test the common statuses.
type Error struct {
	StatusCode int
	Message    string
}

func (e *Error) Error() string { return e.Message }

// readError turns an answer of 400 or more into an *Error, keeping the
// daemon's message ({"message": "..."}, or the body's text).
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Message string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(b, &body) == nil {
		msg = body.Message
	}
	if msg == "" {
		msg = strings.TrimSpace(string(b))
	}
	if msg == "" {
		msg = "the Docker daemon answered " + resp.Status + " to " + resp.Request.Method + " " + resp.Request.URL.Path
	}
	return &Error{StatusCode: resp.StatusCode, Message: msg}
}

// StatusCode is the HTTP status of the daemon's refusal err carries, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether the daemon answered 404 (no such container
// or image).
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsConflict reports whether the daemon answered 409 (the container is
// not running, a removal is already in progress, a name is taken).
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// ConnectError is a request that did not reach the daemon, or whose
// connection broke before the daemon answered.
type ConnectError struct {
	Host string
	Err  error
}

func (e *ConnectError) Error() string {
	var op *net.OpError
	switch {
	case errors.Is(e.Err, os.ErrPermission):
		return fmt.Sprintf("permission denied connecting to the Docker daemon at %s: run as root or as a member of "+
			"the socket's group (usually docker) (%v)", e.Host, e.Err)
	case errors.As(e.Err, &op) && op.Op == "dial", errors.Is(e.Err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot connect to the Docker daemon at %s: is it running? (%v)", e.Host, e.Err)
	}
	return fmt.Sprintf("talking to the Docker daemon at %s: %v", e.Host, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// IsConnectionFailed reports whether err is a request that did not get
// the daemon's answer (a *ConnectError).
func IsConnectionFailed(err error) bool {
	var e *ConnectError
	return errors.As(err, &e)
}

// PullError is an error the daemon reported inside an image pull's
// progress stream (the pull itself was accepted).
type PullError struct {
	Image   string
	Message string
}

func (e *PullError) Error() string { return e.Message }
