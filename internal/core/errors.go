package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The typed errors below map one-to-one onto Brigade's error kinds. The HTTP
// layer turns them into status codes in exactly one place. Their Error()
// texts are the ones Brigade's Go SDK prints for the same error, so brig
// and the SDK's users read the same sentence from either server.

// BadRequestError says the request itself is wrong (400).
type BadRequestError struct {
	Reason  string   `json:"reason,omitempty"`
	Details []string `json:"details,omitempty"`
}

// Error numbers the details from 0, as Brigade does.
func (e *BadRequestError) Error() string {
	if len(e.Details) == 0 {
		return "Bad request: " + e.Reason
	}
	var b strings.Builder
	b.WriteString("Bad request: " + e.Reason + ":")
	for i, d := range e.Details {
		fmt.Fprintf(&b, "\n  %d. %s", i, d)
	}
	return b.String()
}

// AuthenticationError says the caller could not be identified (401).
type AuthenticationError struct {
	Reason string `json:"reason,omitempty"`
}

func (e *AuthenticationError) Error() string {
	if e.Reason == "" {
		return "Could not authenticate the request."
	}
	return "Could not authenticate the request: " + e.Reason
}

// AuthorizationError says the caller may not do this (403).
type AuthorizationError struct {
	Reason string `json:"reason,omitempty"`
}

func (e *AuthorizationError) Error() string {
	if e.Reason == "" {
		return "The request is not authorized."
	}
	return "The request is not authorized: " + e.Reason
}

// NotFoundError says an object does not exist (404).
type NotFoundError struct {
	Type   string `json:"type,omitempty"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func (e *NotFoundError) Error() string {
	if e.Type == "" && e.ID == "" && e.Reason != "" {
		return e.Reason
	}
	msg := fmt.Sprintf("%s %q not found", e.Type, e.ID)
	if e.Reason != "" {
		return msg + ": " + e.Reason
	}
	return msg + "."
}

// ConflictError says the request clashes with the current state (409).
type ConflictError struct {
	Type   string `json:"type,omitempty"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func (e *ConflictError) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	return fmt.Sprintf("%s %q conflicts with its current state.", e.Type, e.ID)
}

// NotSupportedError says the server is configured not to do this (501).
// Brigade's Go SDK reads "reason" and its JS SDK "details", so both carry
// the same text (see MarshalJSON).
type NotSupportedError struct {
	Reason string `json:"reason,omitempty"`
}

// MarshalJSON writes the reason under both keys the SDKs read.
func (e *NotSupportedError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Reason  string `json:"reason,omitempty"`
		Details string `json:"details,omitempty"`
	}{e.Reason, e.Reason})
}

func (e *NotSupportedError) Error() string { return "Request not supported: " + e.Reason }

// RequestTooLargeError says the body is over the configured limit (413).
type RequestTooLargeError struct {
	Limit int64
}

func (e *RequestTooLargeError) Error() string {
	return fmt.Sprintf("request body is larger than the limit of %d bytes", e.Limit)
}

// NewNotFound builds a NotFoundError for an object of a kind.
func NewNotFound(kind, id string) error { return &NotFoundError{Type: kind, ID: id} }

// NewConflict builds a ConflictError with a reason.
func NewConflict(kind, id, reason string) error {
	return &ConflictError{Type: kind, ID: id, Reason: reason}
}

// NewBadRequest builds a BadRequestError with a reason and optional details.
func NewBadRequest(reason string, details ...string) error {
	return &BadRequestError{Reason: reason, Details: details}
}

// IsNotFound reports whether err is or wraps a NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// IsConflict reports whether err is or wraps a ConflictError.
func IsConflict(err error) bool {
	var c *ConflictError
	return errors.As(err, &c)
}

// TooManyRequestsError says the caller made too many attempts (429); it is
// ours, Brigade had no rate limits. RetryAfter is when to try again (sent
// as the Retry-After header too).
type TooManyRequestsError struct {
	Reason     string        `json:"reason,omitempty"`
	RetryAfter time.Duration `json:"-"`
}

func (e *TooManyRequestsError) Error() string { return "Too many requests: " + e.Reason }
