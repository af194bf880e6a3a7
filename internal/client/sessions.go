package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// WhoAmI names the principal the Client's token belongs to (GET /v2/whoami).
// The built-in scheduler, observer and worker principals get an
// AuthorizationError.
func (c *Client) WhoAmI(ctx context.Context) (*core.PrincipalReference, error) {
	var out core.PrincipalReference
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v2/whoami", want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateRootSession logs in as root with the root password (POST
// /v2/sessions?root=true with Basic auth) and returns the new session's
// token. Use it with New(address, token) or WithToken.
func (c *Client) CreateRootSession(ctx context.Context, password string) (*core.Token, error) {
	var out core.Token
	err := c.do(ctx, request{
		method: http.MethodPost, path: "/v2/sessions", query: url.Values{"root": {"true"}},
		want: http.StatusCreated,
		auth: func(r *http.Request) { r.SetBasicAuth("root", password) },
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateUserSession starts a third-party login (POST /v2/sessions): the
// token works once the person has logged in at AuthURL. successURL, if
// not empty, is where the browser goes afterwards.
func (c *Client) CreateUserSession(ctx context.Context, successURL string) (*core.ThirdPartyAuthDetails, error) {
	var out core.ThirdPartyAuthDetails
	q := url.Values{}
	if successURL != "" {
		q.Set("successURL", successURL)
	}
	err := c.do(ctx, request{method: http.MethodPost, path: "/v2/sessions", query: q, want: http.StatusCreated,
		auth: func(*http.Request) {}}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSession logs out: it deletes the session the Client's token belongs
// to (DELETE /v2/session). A session that is already gone gives a
// NotFoundError or an AuthenticationError.
func (c *Client) DeleteSession(ctx context.Context) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v2/session", want: http.StatusOK}, nil)
}

// SignInCode is a one-time code that signs a browser in to the dashboard.
type SignInCode struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
}

// CreateSignInCode asks for a one-time, short-lived code that signs a
// browser in to the dashboard as the Client's session (POST
// /v2/session/sign-in-codes, an addition to Brigade's API): open
// <server>/signin?code=<code>.
func (c *Client) CreateSignInCode(ctx context.Context) (*SignInCode, error) {
	var out SignInCode
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v2/session/sign-in-codes", want: http.StatusCreated}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
