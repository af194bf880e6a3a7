package core

import (
	"context"
	"encoding/json"
	"time"
)

// User is a person who logged in through a third party (docs/api.md,
// "Users, service accounts and role assignments"). Users are created on
// their first login; their id is the identity provider's (an e-mail
// address or a login name) and is compared case-insensitively.
type User struct {
	Metadata ObjectMeta `json:"metadata"`
	Name     string     `json:"name"`
	Locked   *time.Time `json:"locked"` // always sent: null when unlocked
}

// ServiceAccount is a non-person principal (a gateway, a bot) that
// authenticates with a long-lived token. Only the token's hash is kept.
type ServiceAccount struct {
	Metadata    ObjectMeta `json:"metadata"`
	Description string     `json:"description"`
	Locked      *time.Time `json:"locked,omitempty"`
	TokenHash   string     `json:"-"`
}

// Role names a system or project role as the API spells it.
type Role string

// RoleAssignment grants a system role, with an optional scope (the event
// source for EVENT_CREATOR), to a user or service account.
type RoleAssignment struct {
	Role      Role               `json:"role"`
	Principal PrincipalReference `json:"principal"`
	Scope     string             `json:"scope,omitempty"`
}

// ProjectRoleAssignment grants a project role on one project.
type ProjectRoleAssignment struct {
	ProjectID string             `json:"projectID"`
	Role      Role               `json:"role"`
	Principal PrincipalReference `json:"principal"`
}

// principalRefJSON is a PrincipalReference with its envelope, as it is
// written inside role assignments.
type principalRefJSON struct {
	Kind       string        `json:"kind"`
	APIVersion string        `json:"apiVersion"`
	Type       PrincipalType `json:"type,omitempty"`
	ID         string        `json:"id,omitempty"`
}

func envelopedRef(p PrincipalReference) principalRefJSON {
	return principalRefJSON{Kind: "PrincipalReference", APIVersion: APIVersion, Type: p.Type, ID: p.ID}
}

// MarshalJSON writes the principal with its own envelope, as Brigade does.
func (r RoleAssignment) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Role      Role             `json:"role"`
		Principal principalRefJSON `json:"principal"`
		Scope     string           `json:"scope,omitempty"`
	}{r.Role, envelopedRef(r.Principal), r.Scope})
}

// MarshalJSON writes the principal with its own envelope, as Brigade does.
func (r ProjectRoleAssignment) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ProjectID string           `json:"projectID"`
		Role      Role             `json:"role"`
		Principal principalRefJSON `json:"principal"`
	}{r.ProjectID, r.Role, envelopedRef(r.Principal)})
}

// RoleAssignmentSelector filters system role assignments; empty fields
// match everything.
type RoleAssignmentSelector struct {
	Principal *PrincipalReference
	Role      Role
}

// ProjectRoleAssignmentSelector filters project role assignments; empty
// fields match everything.
type ProjectRoleAssignmentSelector struct {
	ProjectID string
	Principal *PrincipalReference
	Role      Role
}

// UserStore keeps users, ordered by id. Ids are matched case-insensitively.
type UserStore interface {
	// Ensure stores u unless a user with its id exists, and returns the
	// stored user either way; created says which.
	Ensure(ctx context.Context, u *User) (stored *User, created bool, err error)
	Get(ctx context.Context, id string) (*User, error)
	List(ctx context.Context, opts ListOptions) ([]User, ListMeta, error)
	// Lock marks the user locked at t and deletes its sessions.
	Lock(ctx context.Context, id string, t time.Time) error
	Unlock(ctx context.Context, id string) error
	// Delete removes the user, its sessions and every role it holds.
	Delete(ctx context.Context, id string) error
}

// ServiceAccountStore keeps service accounts, ordered by id.
type ServiceAccountStore interface {
	Create(ctx context.Context, sa *ServiceAccount) error // ConflictError if the id is taken
	Get(ctx context.Context, id string) (*ServiceAccount, error)
	GetByTokenHash(ctx context.Context, hash string) (*ServiceAccount, error)
	List(ctx context.Context, opts ListOptions) ([]ServiceAccount, ListMeta, error)
	// Lock marks the account locked at t.
	Lock(ctx context.Context, id string, t time.Time) error
	// Unlock clears the lock and replaces the token's hash.
	Unlock(ctx context.Context, id, tokenHash string) error
	// Delete removes the account and every role it holds.
	Delete(ctx context.Context, id string) error
}

// RoleAssignmentStore keeps system and project role assignments. Grants
// are idempotent; revoking an assignment that does not exist is not an
// error. A project's assignments go with the project.
type RoleAssignmentStore interface {
	Grant(ctx context.Context, a RoleAssignment) error
	Revoke(ctx context.Context, a RoleAssignment) error
	// List orders by principal type, principal id, role, scope.
	List(ctx context.Context, sel RoleAssignmentSelector, opts ListOptions) ([]RoleAssignment, ListMeta, error)
	GrantProject(ctx context.Context, a ProjectRoleAssignment) error
	RevokeProject(ctx context.Context, a ProjectRoleAssignment) error
	// ListProject orders by project, principal type, principal id, role.
	ListProject(ctx context.Context, sel ProjectRoleAssignmentSelector, opts ListOptions) ([]ProjectRoleAssignment, ListMeta, error)
	// Of returns every assignment a principal holds.
	Of(ctx context.Context, p PrincipalReference) ([]RoleAssignment, []ProjectRoleAssignment, error)
}
