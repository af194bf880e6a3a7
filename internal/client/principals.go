package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/brigadeplatform/brigade/internal/core"
)

// ListUsers returns one page of users, ordered by id (GET /v2/users).
// Servers without third-party logins answer NotSupportedError.
func (c *Client) ListUsers(ctx context.Context, opts *ListOptions) (*List[core.User], error) {
	return getList[core.User](ctx, c, "/v2/users", opts, nil)
}

// GetUser returns one user (GET /v2/users/{id}); the id is matched
// without regard to case.
func (c *Client) GetUser(ctx context.Context, id string) (*core.User, error) {
	var out core.User
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v2/users/" + escape(id), want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LockUser locks a user out and ends its sessions (PUT /v2/users/{id}/lock).
func (c *Client) LockUser(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodPut, path: "/v2/users/" + escape(id) + "/lock", want: http.StatusOK}, nil)
}

// UnlockUser lets a locked user in again (DELETE /v2/users/{id}/lock).
func (c *Client) UnlockUser(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v2/users/" + escape(id) + "/lock", want: http.StatusOK}, nil)
}

// DeleteUser deletes a user with its sessions and roles
// (DELETE /v2/users/{id}).
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v2/users/" + escape(id), want: http.StatusOK}, nil)
}

// CreateServiceAccount creates a service account (POST
// /v2/service-accounts) and returns its token, which the server shows only
// this once.
func (c *Client) CreateServiceAccount(ctx context.Context, id, description string) (*core.Token, error) {
	body := struct {
		Metadata    core.ObjectMeta `json:"metadata"`
		Description string          `json:"description"`
	}{core.ObjectMeta{ID: id}, description}
	var out core.Token
	err := c.do(ctx, request{method: http.MethodPost, path: "/v2/service-accounts",
		kind: "ServiceAccount", body: body, want: http.StatusCreated}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListServiceAccounts returns one page of service accounts, ordered by id
// (GET /v2/service-accounts).
func (c *Client) ListServiceAccounts(ctx context.Context, opts *ListOptions) (*List[core.ServiceAccount], error) {
	return getList[core.ServiceAccount](ctx, c, "/v2/service-accounts", opts, nil)
}

// GetServiceAccount returns one service account
// (GET /v2/service-accounts/{id}).
func (c *Client) GetServiceAccount(ctx context.Context, id string) (*core.ServiceAccount, error) {
	var out core.ServiceAccount
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v2/service-accounts/" + escape(id), want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LockServiceAccount makes the server refuse the account's token
// (PUT /v2/service-accounts/{id}/lock).
func (c *Client) LockServiceAccount(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodPut, path: "/v2/service-accounts/" + escape(id) + "/lock", want: http.StatusOK}, nil)
}

// UnlockServiceAccount unlocks the account and returns its new token; the
// old one stays refused (DELETE /v2/service-accounts/{id}/lock).
func (c *Client) UnlockServiceAccount(ctx context.Context, id string) (*core.Token, error) {
	var out core.Token
	if err := c.do(ctx, request{method: http.MethodDelete, path: "/v2/service-accounts/" + escape(id) + "/lock", want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteServiceAccount deletes a service account with its roles
// (DELETE /v2/service-accounts/{id}).
func (c *Client) DeleteServiceAccount(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v2/service-accounts/" + escape(id), want: http.StatusOK}, nil)
}

// principalRef is a principal as requests carry it: without an envelope
// of its own (the server's schema refuses one).
type principalRef struct {
	Type core.PrincipalType `json:"type"`
	ID   string             `json:"id"`
}

// GrantRole grants a system role (POST /v2/role-assignments). The scope is
// the event source of EVENT_CREATOR. Granting a role twice changes nothing.
func (c *Client) GrantRole(ctx context.Context, a core.RoleAssignment) error {
	body := struct {
		Role      core.Role    `json:"role"`
		Principal principalRef `json:"principal"`
		Scope     string       `json:"scope,omitempty"`
	}{a.Role, principalRef(a.Principal), a.Scope}
	return c.do(ctx, request{method: http.MethodPost, path: "/v2/role-assignments",
		kind: "RoleAssignment", body: body, want: http.StatusOK}, nil)
}

// RevokeRole revokes a system role (DELETE /v2/role-assignments); revoking
// one that is not held is not an error.
func (c *Client) RevokeRole(ctx context.Context, a core.RoleAssignment) error {
	q := principalQuery(&a.Principal, a.Role)
	if a.Scope != "" {
		q.Set("scope", a.Scope)
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/v2/role-assignments", query: q, want: http.StatusOK}, nil)
}

// ListRoles returns one page of system role assignments
// (GET /v2/role-assignments), narrowed by sel's principal and role.
func (c *Client) ListRoles(ctx context.Context, sel core.RoleAssignmentSelector, opts *ListOptions) (*List[core.RoleAssignment], error) {
	return getList[core.RoleAssignment](ctx, c, "/v2/role-assignments", opts, principalQuery(sel.Principal, sel.Role))
}

// GrantProjectRole grants a role on a project
// (POST /v2/projects/{id}/role-assignments).
func (c *Client) GrantProjectRole(ctx context.Context, a core.ProjectRoleAssignment) error {
	body := struct {
		Role      core.Role    `json:"role"`
		Principal principalRef `json:"principal"`
	}{a.Role, principalRef(a.Principal)}
	return c.do(ctx, request{method: http.MethodPost, path: "/v2/projects/" + escape(a.ProjectID) + "/role-assignments",
		kind: "ProjectRoleAssignment", body: body, want: http.StatusOK}, nil)
}

// RevokeProjectRole revokes a role on a project
// (DELETE /v2/projects/{id}/role-assignments).
func (c *Client) RevokeProjectRole(ctx context.Context, a core.ProjectRoleAssignment) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v2/projects/" + escape(a.ProjectID) + "/role-assignments",
		query: principalQuery(&a.Principal, a.Role), want: http.StatusOK}, nil)
}

// ListProjectRoles returns one page of project role assignments: of one
// project when sel names it (GET /v2/projects/{id}/role-assignments), of
// every project otherwise (GET /v2/project-role-assignments).
func (c *Client) ListProjectRoles(ctx context.Context, sel core.ProjectRoleAssignmentSelector, opts *ListOptions) (*List[core.ProjectRoleAssignment], error) {
	path := "/v2/project-role-assignments"
	if sel.ProjectID != "" {
		path = "/v2/projects/" + escape(sel.ProjectID) + "/role-assignments"
	}
	return getList[core.ProjectRoleAssignment](ctx, c, path, opts, principalQuery(sel.Principal, sel.Role))
}

// principalQuery is the query that names a principal and a role.
func principalQuery(p *core.PrincipalReference, role core.Role) url.Values {
	q := url.Values{}
	if p != nil {
		q.Set("principalType", string(p.Type))
		q.Set("principalID", p.ID)
	}
	if role != "" {
		q.Set("role", string(role))
	}
	return q
}

// getList fetches one page of a list.
func getList[T any](ctx context.Context, c *Client, path string, opts *ListOptions, q url.Values) (*List[T], error) {
	if q == nil {
		q = url.Values{}
	}
	opts.query(q)
	var out List[T]
	if err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
