package api

import (
	"context"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

var (
	systemRoles  = []auth.Role{auth.RoleAdmin, auth.RoleEventCreator, auth.RoleProjectCreator, auth.RoleReader}
	projectRoles = []auth.Role{auth.RoleProjectAdmin, auth.RoleProjectDeveloper, auth.RoleProjectUser}
)

// checkRevoke says what is missing or wrong in a revoke's query, which no
// schema checks.
func checkRevoke(role auth.Role, valid []auth.Role, p core.PrincipalReference) error {
	var details []string
	known := false
	for _, r := range valid {
		known = known || r == role
	}
	if !known {
		details = append(details, fmt.Sprintf(`"role" must be one of %v, not %q`, valid, role))
	}
	if p.Type != core.PrincipalTypeUser && p.Type != core.PrincipalTypeServiceAccount {
		details = append(details, fmt.Sprintf(`"principalType" must be USER or SERVICE_ACCOUNT, not %q`, p.Type))
	}
	if p.ID == "" {
		details = append(details, `"principalID" is required`)
	}
	if details != nil {
		return core.NewBadRequest("Invalid role assignment in the query parameters", details...)
	}
	return nil
}

// principalID checks that the principal exists and returns its id as
// stored (a user's id is matched without regard to case).
func (s *Service) principalID(ctx context.Context, p core.PrincipalReference) (string, error) {
	switch p.Type {
	case core.PrincipalTypeUser:
		u, err := s.store.Users().Get(ctx, p.ID)
		if err != nil {
			return "", err
		}
		return u.Metadata.ID, nil
	case core.PrincipalTypeServiceAccount:
		if _, err := s.store.ServiceAccounts().Get(ctx, p.ID); err != nil {
			return "", err
		}
		return p.ID, nil
	}
	return "", core.NewBadRequest(fmt.Sprintf("Principals of type %q hold no roles; use USER or SERVICE_ACCOUNT.", p.Type))
}

// GrantRole grants a system role to an existing user or service account;
// granting it again changes nothing.
func (s *Service) GrantRole(ctx context.Context, a core.RoleAssignment) error {
	if _, err := require(ctx, auth.RoleAdmin, ""); err != nil {
		return err
	}
	return s.changeRoles(ctx, a.Principal, func(ctx context.Context, id string) error {
		a.Principal.ID = id
		return s.store.RoleAssignments().Grant(ctx, a)
	})
}

// RevokeRole revokes a system role (with its scope); revoking one the
// principal does not hold is not an error.
func (s *Service) RevokeRole(ctx context.Context, a core.RoleAssignment) error {
	if _, err := require(ctx, auth.RoleAdmin, ""); err != nil {
		return err
	}
	if err := checkRevoke(a.Role, systemRoles, a.Principal); err != nil {
		return err
	}
	return s.changeRoles(ctx, a.Principal, func(ctx context.Context, id string) error {
		a.Principal.ID = id
		return s.store.RoleAssignments().Revoke(ctx, a)
	})
}

// changeRoles runs change with the principal's stored id in one
// transaction with the check that it exists, then drops the cached
// principals so the change holds from the next request on.
func (s *Service) changeRoles(ctx context.Context, p core.PrincipalReference, change func(ctx context.Context, id string) error) error {
	defer s.forgetPrincipals()
	return s.store.Tx(ctx, func(ctx context.Context) error {
		id, err := s.principalID(ctx, p)
		if err != nil {
			return err
		}
		return change(ctx, id)
	})
}

// ListRoles pages through system role assignments.
func (s *Service) ListRoles(ctx context.Context, sel core.RoleAssignmentSelector, opts core.ListOptions) ([]core.RoleAssignment, core.ListMeta, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, core.ListMeta{}, err
	}
	return s.store.RoleAssignments().List(ctx, sel, opts)
}

// GrantProjectRole grants a role on an existing project to an existing
// user or service account.
func (s *Service) GrantProjectRole(ctx context.Context, a core.ProjectRoleAssignment) error {
	if _, err := requireProject(ctx, a.ProjectID, auth.RoleProjectAdmin); err != nil {
		return err
	}
	return s.changeProjectRoles(ctx, a, s.store.RoleAssignments().GrantProject)
}

// RevokeProjectRole revokes a role on a project; revoking one the principal
// does not hold is not an error.
func (s *Service) RevokeProjectRole(ctx context.Context, a core.ProjectRoleAssignment) error {
	if _, err := requireProject(ctx, a.ProjectID, auth.RoleProjectAdmin); err != nil {
		return err
	}
	if err := checkRevoke(a.Role, projectRoles, a.Principal); err != nil {
		return err
	}
	return s.changeProjectRoles(ctx, a, s.store.RoleAssignments().RevokeProject)
}

func (s *Service) changeProjectRoles(ctx context.Context, a core.ProjectRoleAssignment,
	change func(context.Context, core.ProjectRoleAssignment) error) error {
	return s.changeRoles(ctx, a.Principal, func(ctx context.Context, id string) error {
		if _, err := s.store.Projects().Get(ctx, a.ProjectID); err != nil {
			return err
		}
		a.Principal.ID = id
		return change(ctx, a)
	})
}

// ListProjectRoles pages through project role assignments (of one project
// when sel names it).
func (s *Service) ListProjectRoles(ctx context.Context, sel core.ProjectRoleAssignmentSelector, opts core.ListOptions) ([]core.ProjectRoleAssignment, core.ListMeta, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, core.ListMeta{}, err
	}
	return s.store.RoleAssignments().ListProject(ctx, sel, opts)
}

// grantCreator gives the user or service account that created a project
// every role on it, inside the creating transaction (root needs none).
func (s *Service) grantCreator(ctx context.Context, p *auth.Principal, projectID string) error {
	ref := p.Reference()
	if ref == nil || ref.Type == core.PrincipalTypeRoot {
		return nil
	}
	for _, role := range projectRoles {
		if err := s.store.RoleAssignments().GrantProject(ctx,
			core.ProjectRoleAssignment{ProjectID: projectID, Role: role, Principal: *ref}); err != nil {
			return fmt.Errorf("granting %s on the new project to its creator: %w", role, err)
		}
	}
	return nil
}
