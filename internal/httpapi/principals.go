package httpapi

import (
	"context"
	"net/http"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/schema"
)

// principalRoutes are users, service accounts and role assignments
// (docs/api.md, "Users, service accounts and role assignments").
func (h *handler) principalRoutes(authed func(string, http.HandlerFunc)) {
	authed("GET /v2/users", h.listUsers)
	authed("GET /v2/users/{id}", h.getUser)
	authed("PUT /v2/users/{id}/lock", h.byID(h.svc.LockUser))
	authed("DELETE /v2/users/{id}/lock", h.byID(h.svc.UnlockUser))
	authed("DELETE /v2/users/{id}", h.byID(h.svc.DeleteUser))

	authed("POST /v2/service-accounts", h.createServiceAccount)
	authed("GET /v2/service-accounts", h.listServiceAccounts)
	authed("GET /v2/service-accounts/{id}", h.getServiceAccount)
	authed("PUT /v2/service-accounts/{id}/lock", h.byID(h.svc.LockServiceAccount))
	authed("DELETE /v2/service-accounts/{id}/lock", h.unlockServiceAccount)
	authed("DELETE /v2/service-accounts/{id}", h.byID(h.svc.DeleteServiceAccount))

	authed("POST /v2/role-assignments", h.grantRole)
	authed("GET /v2/role-assignments", h.listRoles)
	authed("DELETE /v2/role-assignments", h.revokeRole)
	authed("POST /v2/projects/{id}/role-assignments", h.grantProjectRole)
	authed("GET /v2/projects/{id}/role-assignments", h.listProjectRoles)
	authed("GET /v2/project-role-assignments", h.listProjectRoles)
	authed("DELETE /v2/projects/{id}/role-assignments", h.revokeProjectRole)
}

// byID answers a void operation on the object named by the path's id.
func (h *handler) byID(fn func(ctx context.Context, id string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.action(w, r, func(ctx context.Context) error { return fn(ctx, r.PathValue("id")) })
	}
}

// writeList answers a list call: limit and continue are checked first.
func writeList[T any](h *handler, w http.ResponseWriter, r *http.Request, kind, itemKind string,
	list func(core.ListOptions) ([]T, core.ListMeta, error)) {
	opts, err := listOptions(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items, meta, err := list(opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeListBody(h, w, r, kind, itemKind, items, meta)
}

// writeObject answers a get.
func writeObject[T any](h *handler, w http.ResponseWriter, r *http.Request, kind string, v *T, err error) {
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, kind, v)
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) {
	writeList(h, w, r, "UserList", "User", func(o core.ListOptions) ([]core.User, core.ListMeta, error) {
		return h.svc.ListUsers(r.Context(), o)
	})
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.svc.GetUser(r.Context(), r.PathValue("id"))
	writeObject(h, w, r, "User", u, err)
}

func (h *handler) createServiceAccount(w http.ResponseWriter, r *http.Request) {
	var sa core.ServiceAccount
	if err := h.decode(r, schema.ServiceAccount, &sa); err != nil {
		h.writeError(w, r, err)
		return
	}
	tok, err := h.svc.CreateServiceAccount(r.Context(), &sa)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusCreated, "Token", tok)
}

func (h *handler) listServiceAccounts(w http.ResponseWriter, r *http.Request) {
	writeList(h, w, r, "ServiceAccountList", "ServiceAccount", func(o core.ListOptions) ([]core.ServiceAccount, core.ListMeta, error) {
		return h.svc.ListServiceAccounts(r.Context(), o)
	})
}

func (h *handler) getServiceAccount(w http.ResponseWriter, r *http.Request) {
	sa, err := h.svc.GetServiceAccount(r.Context(), r.PathValue("id"))
	writeObject(h, w, r, "ServiceAccount", sa, err)
}

// unlockServiceAccount answers 200 with the account's new token.
func (h *handler) unlockServiceAccount(w http.ResponseWriter, r *http.Request) {
	tok, err := h.svc.UnlockServiceAccount(r.Context(), r.PathValue("id"))
	writeObject(h, w, r, "Token", tok, err)
}

func (h *handler) grantRole(w http.ResponseWriter, r *http.Request) {
	var a core.RoleAssignment
	if err := h.decode(r, schema.RoleAssignment, &a); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.action(w, r, func(ctx context.Context) error { return h.svc.GrantRole(ctx, a) })
}

// queryPrincipal is the principal named by principalType and principalID,
// nil unless both are given (a filter needs both).
func queryPrincipal(r *http.Request) *core.PrincipalReference {
	q := r.URL.Query()
	t, id := q.Get("principalType"), q.Get("principalID")
	if t == "" || id == "" {
		return nil
	}
	return &core.PrincipalReference{Type: core.PrincipalType(t), ID: id}
}

func (h *handler) listRoles(w http.ResponseWriter, r *http.Request) {
	sel := core.RoleAssignmentSelector{Principal: queryPrincipal(r), Role: core.Role(r.URL.Query().Get("role"))}
	writeList(h, w, r, "RoleAssignmentList", "RoleAssignment", func(o core.ListOptions) ([]core.RoleAssignment, core.ListMeta, error) {
		return h.svc.ListRoles(r.Context(), sel, o)
	})
}

func (h *handler) revokeRole(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a := core.RoleAssignment{
		Role:  core.Role(q.Get("role")),
		Scope: q.Get("scope"),
		Principal: core.PrincipalReference{
			Type: core.PrincipalType(q.Get("principalType")), ID: q.Get("principalID"),
		},
	}
	h.action(w, r, func(ctx context.Context) error { return h.svc.RevokeRole(ctx, a) })
}

func (h *handler) grantProjectRole(w http.ResponseWriter, r *http.Request) {
	var a core.ProjectRoleAssignment
	if err := h.decode(r, schema.ProjectRoleAssignment, &a); err != nil {
		h.writeError(w, r, err)
		return
	}
	a.ProjectID = r.PathValue("id")
	h.action(w, r, func(ctx context.Context) error { return h.svc.GrantProjectRole(ctx, a) })
}

// listProjectRoles serves both the per-project list and the cross-project
// one (with an optional "project" query parameter).
func (h *handler) listProjectRoles(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("id")
	if project == "" {
		project = r.URL.Query().Get("project")
	}
	sel := core.ProjectRoleAssignmentSelector{
		ProjectID: project, Principal: queryPrincipal(r), Role: core.Role(r.URL.Query().Get("role")),
	}
	writeList(h, w, r, "ProjectRoleAssignmentList", "ProjectRoleAssignment",
		func(o core.ListOptions) ([]core.ProjectRoleAssignment, core.ListMeta, error) {
			return h.svc.ListProjectRoles(r.Context(), sel, o)
		})
}

func (h *handler) revokeProjectRole(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a := core.ProjectRoleAssignment{
		ProjectID: r.PathValue("id"),
		Role:      core.Role(q.Get("role")),
		Principal: core.PrincipalReference{
			Type: core.PrincipalType(q.Get("principalType")), ID: q.Get("principalID"),
		},
	}
	h.action(w, r, func(ctx context.Context) error { return h.svc.RevokeProjectRole(ctx, a) })
}
