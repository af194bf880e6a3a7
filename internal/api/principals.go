package api

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// errUserManagementDisabled answers the user calls while people cannot log
// in through a third party (Brigade's sentence).
func errUserManagementDisabled() error {
	return &core.NotSupportedError{Reason: "Authentication using a third party identity provider is not supported by this server. " +
		"User management functions are unavailable when authentication via a third party identity provider is not enabled."}
}

// EnsureUser returns the user with id, creating it (unlocked, without
// roles) on its first login. It checks no role: only the third-party login
// flow calls it, once the identity provider vouched for the person.
func (s *Service) EnsureUser(ctx context.Context, id, name string) (*core.User, error) {
	u, _, err := s.ensureUser(ctx, id, name)
	return u, err
}

// ensureUser is EnsureUser that also says whether the user is new, and
// gives a new one the roles the server's configuration grants new users.
func (s *Service) ensureUser(ctx context.Context, id, name string) (*core.User, bool, error) {
	now := s.now()
	var (
		u       *core.User
		created bool
	)
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		u, created, err = s.store.Users().Ensure(ctx, &core.User{Metadata: core.ObjectMeta{ID: id, Created: &now}, Name: name})
		if err != nil || !created {
			return err
		}
		for _, role := range s.newUserRoles(u.Metadata.ID) {
			a := core.RoleAssignment{Role: role, Principal: core.PrincipalReference{Type: core.PrincipalTypeUser, ID: u.Metadata.ID}}
			if role == auth.RoleEventCreator {
				a.Scope = auth.Wildcard
			}
			if err := s.store.RoleAssignments().Grant(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("storing user %q: %w", id, err)
	}
	if created {
		s.forgetPrincipals()
		s.log.Info("user created", "user", u.Metadata.ID, "roles", s.newUserRoles(u.Metadata.ID))
	}
	return u, created, nil
}

// newUserRoles are the system roles a new user gets: READER for everyone
// when the server says so, and ADMIN, PROJECT_CREATOR and READER for the
// ids it names as administrators (compared without regard to case).
func (s *Service) newUserRoles(id string) []core.Role {
	for _, admin := range s.cfg.AdminUserIDs {
		if strings.EqualFold(strings.TrimSpace(admin), id) {
			return []core.Role{auth.RoleAdmin, auth.RoleProjectCreator, auth.RoleReader}
		}
	}
	if s.cfg.GrantReaderToNewUsers {
		return []core.Role{auth.RoleReader}
	}
	return nil
}

// StartUserSession opens an authenticated session for a user whose
// third-party login just completed and returns its token. Like EnsureUser,
// it is for the login flow only; a locked user gets no session.
func (s *Service) StartUserSession(ctx context.Context, userID string) (*core.Token, error) {
	u, err := s.store.Users().Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.Locked != nil {
		return nil, lockedError("User", u.Metadata.ID)
	}
	token := auth.NewToken()
	now := s.now()
	exp := now.Add(s.cfg.UserSessionTTL)
	sess := &core.Session{
		ID: uuid.NewString(), TokenHash: auth.HashToken(token), UserID: u.Metadata.ID,
		Created: now, Authenticated: &now, Expires: &exp,
	}
	if err := s.store.Sessions().Create(ctx, sess); err != nil {
		return nil, fmt.Errorf("storing session: %w", err)
	}
	return &core.Token{Value: token}, nil
}

// requireUserManagement checks the role, then that users exist here.
func (s *Service) requireUserManagement(ctx context.Context, role auth.Role) error {
	if _, err := require(ctx, role, ""); err != nil {
		return err
	}
	if !s.cfg.ThirdPartyAuth {
		return errUserManagementDisabled()
	}
	return nil
}

// ListUsers pages through users by id.
func (s *Service) ListUsers(ctx context.Context, opts core.ListOptions) ([]core.User, core.ListMeta, error) {
	if err := s.requireUserManagement(ctx, auth.RoleReader); err != nil {
		return nil, core.ListMeta{}, err
	}
	return s.store.Users().List(ctx, opts)
}

// GetUser returns one user; the id is matched without regard to case.
func (s *Service) GetUser(ctx context.Context, id string) (*core.User, error) {
	if err := s.requireUserManagement(ctx, auth.RoleReader); err != nil {
		return nil, err
	}
	return s.store.Users().Get(ctx, id)
}

// LockUser locks a user out and ends its sessions.
func (s *Service) LockUser(ctx context.Context, id string) error {
	if err := s.requireUserManagement(ctx, auth.RoleAdmin); err != nil {
		return err
	}
	defer s.forgetPrincipals()
	return s.store.Users().Lock(ctx, id, s.now())
}

// UnlockUser lets a locked user log in again.
func (s *Service) UnlockUser(ctx context.Context, id string) error {
	if err := s.requireUserManagement(ctx, auth.RoleAdmin); err != nil {
		return err
	}
	defer s.forgetPrincipals()
	return s.store.Users().Unlock(ctx, id)
}

// DeleteUser removes a user with its sessions and roles. As in Brigade it
// works whether or not third-party logins are enabled.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if _, err := require(ctx, auth.RoleAdmin, ""); err != nil {
		return err
	}
	defer s.forgetPrincipals()
	return s.store.Users().Delete(ctx, id)
}

// CreateServiceAccount stores a new service account and returns its token,
// which is shown only this once (the store keeps its hash).
func (s *Service) CreateServiceAccount(ctx context.Context, sa *core.ServiceAccount) (*core.Token, error) {
	if _, err := require(ctx, auth.RoleAdmin, ""); err != nil {
		return nil, err
	}
	token := auth.NewToken()
	sa.Metadata.Created = timePtr(s.now())
	sa.TokenHash = auth.HashToken(token)
	sa.Locked = nil
	if err := s.store.ServiceAccounts().Create(ctx, sa); err != nil {
		return nil, err
	}
	s.log.Info("service account created", "serviceAccount", sa.Metadata.ID)
	return &core.Token{Value: token}, nil
}

// ListServiceAccounts pages through service accounts by id.
func (s *Service) ListServiceAccounts(ctx context.Context, opts core.ListOptions) ([]core.ServiceAccount, core.ListMeta, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, core.ListMeta{}, err
	}
	return s.store.ServiceAccounts().List(ctx, opts)
}

// GetServiceAccount returns one service account.
func (s *Service) GetServiceAccount(ctx context.Context, id string) (*core.ServiceAccount, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, err
	}
	return s.store.ServiceAccounts().Get(ctx, id)
}

// LockServiceAccount refuses the account's token from now on.
func (s *Service) LockServiceAccount(ctx context.Context, id string) error {
	if _, err := require(ctx, auth.RoleAdmin, ""); err != nil {
		return err
	}
	defer s.forgetPrincipals()
	return s.store.ServiceAccounts().Lock(ctx, id, s.now())
}

// UnlockServiceAccount unlocks the account with a new token, returned once;
// the old token stops working.
func (s *Service) UnlockServiceAccount(ctx context.Context, id string) (*core.Token, error) {
	if _, err := require(ctx, auth.RoleAdmin, ""); err != nil {
		return nil, err
	}
	token := auth.NewToken()
	defer s.forgetPrincipals()
	if err := s.store.ServiceAccounts().Unlock(ctx, id, auth.HashToken(token)); err != nil {
		return nil, err
	}
	return &core.Token{Value: token}, nil
}

// DeleteServiceAccount removes the account and every role it holds.
func (s *Service) DeleteServiceAccount(ctx context.Context, id string) error {
	if _, err := require(ctx, auth.RoleAdmin, ""); err != nil {
		return err
	}
	defer s.forgetPrincipals()
	return s.store.ServiceAccounts().Delete(ctx, id)
}
