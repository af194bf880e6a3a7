package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/brigadeplatform/brigade/internal/core"
)

// projectBody is what the server accepts of a project: no created time, no
// kubernetes block (both server-assigned).
func projectBody(p *core.Project) *core.Project {
	cp := *p
	cp.Metadata = core.ObjectMeta{ID: p.Metadata.ID}
	cp.Kubernetes = nil
	return &cp
}

// CreateProject creates a project (POST /v2/projects) and returns it as
// stored. An existing id gives a ConflictError.
func (c *Client) CreateProject(ctx context.Context, p *core.Project) (*core.Project, error) {
	var out core.Project
	err := c.do(ctx, request{
		method: http.MethodPost, path: "/v2/projects",
		kind: "Project", body: projectBody(p), want: http.StatusCreated,
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListProjects returns one page of projects, ordered by id
// (GET /v2/projects). opts may be nil.
func (c *Client) ListProjects(ctx context.Context, opts *ListOptions) (*List[core.Project], error) {
	q := url.Values{}
	opts.query(q)
	var out List[core.Project]
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v2/projects", query: q, want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetProject returns one project (GET /v2/projects/{id}).
func (c *Client) GetProject(ctx context.Context, id string) (*core.Project, error) {
	var out core.Project
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v2/projects/" + escape(id), want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateProject replaces a project's description and spec
// (PUT /v2/projects/{id}). With create, a missing project is created
// instead of giving a NotFoundError. The reply echoes what was sent.
func (c *Client) UpdateProject(ctx context.Context, p *core.Project, create bool) (*core.Project, error) {
	q := url.Values{}
	if create {
		q.Set("create", "true")
	}
	var out core.Project
	err := c.do(ctx, request{
		method: http.MethodPut, path: "/v2/projects/" + escape(p.Metadata.ID), query: q,
		kind: "Project", body: projectBody(p), want: http.StatusOK,
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteProject deletes a project with its events, logs and secrets
// (DELETE /v2/projects/{id}).
func (c *Client) DeleteProject(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v2/projects/" + escape(id), want: http.StatusOK}, nil)
}

// ListSecrets returns one page of a project's secrets, ordered by key
// (GET /v2/projects/{id}/secrets). Values are never returned.
func (c *Client) ListSecrets(ctx context.Context, projectID string, opts *ListOptions) (*List[core.Secret], error) {
	q := url.Values{}
	opts.query(q)
	var out List[core.Secret]
	err := c.do(ctx, request{
		method: http.MethodGet, path: "/v2/projects/" + escape(projectID) + "/secrets", query: q, want: http.StatusOK,
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// SetSecret creates or overwrites one project secret
// (PUT /v2/projects/{id}/secrets/{key}).
func (c *Client) SetSecret(ctx context.Context, projectID string, s core.Secret) error {
	// value is required by the server even when empty, which core.Secret
	// would omit.
	body := struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}{s.Key, s.Value}
	return c.do(ctx, request{
		method: http.MethodPut, path: "/v2/projects/" + escape(projectID) + "/secrets/" + escape(s.Key),
		kind: "Secret", body: &body, want: http.StatusOK,
	}, nil)
}

// UnsetSecret removes one project secret; an absent key is not an error
// (DELETE /v2/projects/{id}/secrets/{key}).
func (c *Client) UnsetSecret(ctx context.Context, projectID, key string) error {
	return c.do(ctx, request{
		method: http.MethodDelete, path: "/v2/projects/" + escape(projectID) + "/secrets/" + escape(key), want: http.StatusOK,
	}, nil)
}
