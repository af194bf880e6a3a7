// Package client is a typed Go client of the Brigade v2 REST API as this
// platform serves it (see docs/api.md). The CLI, the worker and
// the gateways use it; other programs may too.
//
// # Requests and replies
//
// Every request body carries Brigade's type envelope (`kind` and
// `apiVersion: brigade.sh/v2`), which the server validates. Fields the server
// owns (an event's metadata, worker and summary; a project's created time and
// kubernetes block; a job's created time and status) are left out of what is
// sent, so an object read from the API can be sent back as is. Replies are
// decoded straight into the types of internal/core; the envelope keys are
// ignored.
//
// # Errors
//
// Each method expects one exact status code (201 for project create, event
// create, clone, retry, job create and sessions; 200 for everything else).
// Any other status is an error: 400, 401, 403, 404, 409 and 501 with Brigade's
// JSON error body become *core.BadRequestError, *core.AuthenticationError,
// *core.AuthorizationError, *core.NotFoundError, *core.ConflictError and
// *core.NotSupportedError (and 429, our addition, *core.TooManyRequestsError
// with its Retry-After), returned unwrapped so callers can use errors.As;
// every other status (413, 500, …) or a body that is not Brigade's error JSON
// becomes an *APIError whose message is "received N from API server: <body>".
// Failures to reach the server are wrapped with the method and URL.
//
// # Streams
//
// WatchWorkerStatus, WatchJobStatus and Logs return a value channel and an
// error channel, and follow one contract:
//
//   - The request is made in the background; a refusal (404, 401, …) arrives
//     on the error channel like any other failure.
//   - Values arrive in order on the value channel, which is unbuffered.
//   - When the stream ends, at most one error is sent on the error channel
//     (buffered, so sending never blocks), then the value channel is closed,
//     then the error channel is closed.
//   - A normal end sends no error: for Logs, the server closing the response
//     (the end of the stored lines, or with Follow, the container finished);
//     for the status watches, the first terminal phase (the client then
//     closes the response itself). A watch that ends before any terminal
//     phase (the server restarted, the event was deleted) reports an error
//     wrapping io.ErrUnexpectedEOF: watch again or get the status.
//   - Cancelling ctx stops the stream and releases the connection; the error
//     channel then receives ctx.Err() (unless the stream had already ended).
//   - Both framings the server uses without sse=true are read: bare JSON
//     objects back to back, with or without newlines between them.
//
// Ranging over the values and then receiving once from the error channel is
// therefore always safe:
//
//	statuses, errs := c.WatchWorkerStatus(ctx, id)
//	for st := range statuses {
//		fmt.Println(st.Phase)
//	}
//	if err := <-errs; err != nil { // nil: the stream ended normally
//		return err
//	}
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Client talks to one API server with one bearer token. It is safe for
// concurrent use.
type Client struct {
	address   string // scheme://host[:port][/prefix], no trailing slash
	token     string
	http      *http.Client
	userAgent string
}

// Option adjusts a Client built by New.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests through hc (its
// transport, proxy and TLS settings). hc should have no overall Timeout,
// which would cut long-lived streams; use contexts instead.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithInsecureTLS skips verification of the server's TLS certificate when
// insecure is true (brig's --insecure). Apply it after WithHTTPClient: it
// copies that client's *http.Transport (or the default one) and changes the
// copy.
func WithInsecureTLS(insecure bool) Option {
	return func(c *Client) {
		if !insecure {
			return
		}
		c.changeTLS(func(tc *tls.Config) {
			tc.InsecureSkipVerify = true //nolint:gosec // the user asked for it
		})
	}
}

// changeTLS gives the client a copy of its *http.Transport (or of the
// default one) whose TLS settings change has changed.
func (c *Client) changeTLS(change func(*tls.Config)) {
	base, ok := c.http.Transport.(*http.Transport)
	if !ok || base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	tr := base.Clone()
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	change(tr.TLSClientConfig)
	hc := *c.http
	hc.Transport = tr
	c.http = &hc
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a Client of the API server at address (for example
// "http://127.0.0.1:7745"; "http://" is assumed when no scheme is given, and
// a trailing slash is dropped). token is the bearer token sent with every
// request; it may be empty for the calls that need none (ping, root login).
func New(address, token string, opts ...Option) *Client {
	address = strings.TrimSpace(address)
	if !strings.Contains(address, "://") {
		address = "http://" + address
	}
	c := &Client{
		address:   strings.TrimRight(address, "/"),
		token:     token,
		http:      &http.Client{},
		userAgent: "brigade-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Address is the API server's address as the Client uses it.
func (c *Client) Address() string { return c.address }

// Token is the bearer token the Client sends.
func (c *Client) Token() string { return c.token }

// WithToken returns a copy of c that sends another token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// ListOptions pages through a list: Limit is 1–100 (0 lets the server pick
// its default of 20); Continue is the cursor from the previous page's
// Metadata.Continue.
type ListOptions struct {
	Limit    int
	Continue string
}

func (o *ListOptions) query(q url.Values) {
	if o == nil {
		return
	}
	if o.Limit > 0 {
		q.Set("limit", fmt.Sprint(o.Limit))
	}
	if o.Continue != "" {
		q.Set("continue", o.Continue)
	}
}

// List is one page of a list. More items exist when Metadata.Continue is
// not empty; pass it as ListOptions.Continue to get them.
type List[T any] struct {
	Metadata core.ListMeta `json:"metadata"`
	Items    []T           `json:"items"`
}

// request describes one call.
type request struct {
	method string
	path   string // begins with /
	query  url.Values
	kind   string // envelope of body; empty: send body as is
	body   any    // nil: no body
	want   int    // the success status
	alsoOK int    // another success status, if not 0
	header http.Header
	auth   func(*http.Request)
}

// enveloped encodes v with "kind" and "apiVersion" first.
func enveloped(kind string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", kind, err)
	}
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("encoding %s: not a JSON object", kind)
	}
	head := `{"kind":` + quote(kind) + `,"apiVersion":"` + core.APIVersion + `"`
	if len(b) == 2 {
		return []byte(head + "}"), nil
	}
	out := make([]byte, 0, len(head)+len(b))
	out = append(out, head...)
	out = append(out, ',')
	return append(out, b[1:]...), nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// send performs r and returns the response if its status is r.want; the
// caller closes the body. Any other status is decoded into an error.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := c.address + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		var b []byte
		var err error
		if r.kind != "" {
			b, err = enveloped(r.kind, r.body)
		} else {
			b, err = json.Marshal(r.body)
		}
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("building request %s %s: %w", r.method, u, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.auth != nil {
		r.auth(req)
	} else if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.path, ctx.Err())
		}
		return nil, fmt.Errorf("%s %s: %w (is the API server at %s running and reachable?)",
			r.method, u, err, c.address)
	}
	if resp.StatusCode != r.want && (r.alsoOK == 0 || resp.StatusCode != r.alsoOK) {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

// do performs r and decodes the reply into out (nil: discard it).
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the reply to %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// escape makes one path segment safe.
func escape(s string) string { return url.PathEscape(s) }

// CloseIdleConnections closes the client's kept-alive connections that
// carry no request, e.g. when a long-lived process is done with the server
// for a while.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
