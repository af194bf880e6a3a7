package core

import "testing"

// TestErrorTexts: each typed error reads as Brigade's Go SDK prints the
// same error, so a reason is never given a second prefix by us.
func TestErrorTexts(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&BadRequestError{Reason: "Request body contains malformed JSON"}, "Bad request: Request body contains malformed JSON"},
		{&BadRequestError{Reason: "Request body failed JSON validation", Details: []string{"a: required", "b: too long"}},
			"Bad request: Request body failed JSON validation:\n  0. a: required\n  1. b: too long"},
		{&AuthenticationError{}, "Could not authenticate the request."},
		{&AuthenticationError{Reason: "Supplied token has expired. Please log in again."},
			"Could not authenticate the request: Supplied token has expired. Please log in again."},
		{&AuthorizationError{}, "The request is not authorized."},
		{&AuthorizationError{Reason: "this needs the ADMIN role"}, "The request is not authorized: this needs the ADMIN role"},
		{&NotFoundError{Type: "Event", ID: "e1"}, `Event "e1" not found.`},
		{&NotFoundError{Type: "Job", ID: "j", Reason: "it was deleted"}, `Job "j" not found: it was deleted`},
		{&NotFoundError{Reason: "Unable to retrieve logs."}, "Unable to retrieve logs."},
		{&ConflictError{Type: "Event", ID: "e1", Reason: `Event "e1" worker has already been started.`},
			`Event "e1" worker has already been started.`},
		{&ConflictError{Type: "Event", ID: "e1"}, `Event "e1" conflicts with its current state.`},
		{&NotSupportedError{Reason: "Authentication using root credentials is not supported by this server."},
			"Request not supported: Authentication using root credentials is not supported by this server."},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%#v.Error()\n got %q\nwant %q", c.err, got, c.want)
		}
	}
}
