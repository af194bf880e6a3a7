package api

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

const settingRootPasswordHash = "root_password_hash"

// EnsureRootPassword makes the stored root password match given. With an
// empty given password it keeps the stored one, or, on first start,
// generates one, stores its hash and returns it so it can be shown once.
// A changed password ends every root session in the transaction that
// stores it: whoever logged in with the old one must log in again.
func (s *Service) EnsureRootPassword(ctx context.Context, given string) (generated string, err error) {
	if given != "" {
		cur, ok, err := s.store.Settings().Get(ctx, settingRootPasswordHash)
		if err != nil {
			return "", fmt.Errorf("reading root password: %w", err)
		}
		if ok && bcrypt.CompareHashAndPassword([]byte(cur), []byte(given)) == nil {
			return "", nil
		}
		h, err := bcrypt.GenerateFromPassword([]byte(given), bcrypt.DefaultCost)
		if err != nil {
			return "", fmt.Errorf("hashing root password: %w", err)
		}
		ended, err := s.store.Settings().SetEndingRootSessions(ctx, settingRootPasswordHash, string(h))
		if err != nil {
			return "", fmt.Errorf("storing root password: %w", err)
		}
		// No cached copy of an ended session lets its token in again.
		s.sessions.ForgetAll()
		if ok {
			s.log.Info("the root password changed; root sessions created with the old one were ended", "ended", ended)
		}
		return "", nil
	}
	pw := auth.NewToken()[:24]
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing root password: %w", err)
	}
	stored, err := s.store.Settings().SetIfAbsent(ctx, settingRootPasswordHash, string(h))
	if err != nil {
		return "", fmt.Errorf("storing root password: %w", err)
	}
	if !stored {
		return "", nil
	}
	return pw, nil
}

// CreateRootSession logs root in with Basic credentials and returns a new
// bearer token.
func (s *Service) CreateRootSession(ctx context.Context, username, password string, hasBasic bool) (*core.Token, error) {
	if !hasBasic {
		return nil, core.NewBadRequest("The request to create a new root session did not include a valid basic auth header. " +
			"Send \"Authorization: Basic <base64 of root:password>\".")
	}
	if s.cfg.RootLoginDisabled {
		return nil, &core.NotSupportedError{Reason: "Authentication using root credentials is not supported by this server."}
	}
	hash, ok, err := s.store.Settings().Get(ctx, settingRootPasswordHash)
	if err != nil {
		return nil, fmt.Errorf("reading root password: %w", err)
	}
	// The password is checked whatever the user name, so that the time a
	// refusal takes does not tell which of the two was wrong.
	userOK := auth.Equal(username, "root")
	passOK := ok && bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	if !userOK || !passOK {
		return nil, &core.AuthenticationError{Reason: "Could not authenticate request using the supplied credentials. " +
			"Check the root password the server was given."}
	}
	token := auth.NewToken()
	now := s.now()
	exp := now.Add(s.cfg.RootSessionTTL)
	sess := &core.Session{
		ID: uuid.NewString(), TokenHash: auth.HashToken(token), Root: true,
		Created: now, Authenticated: &now, Expires: &exp,
	}
	if err := s.store.Sessions().Create(ctx, sess); err != nil {
		return nil, fmt.Errorf("storing session: %w", err)
	}
	return &core.Token{Value: token}, nil
}

// DeleteSession logs the caller out.
func (s *Service) DeleteSession(ctx context.Context) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	if p.SessionID == "" {
		// A worker's, scheduler's, observer's, gateway's or service
		// account's token is not a session: there is nothing to log out,
		// and the request, not the server, is wrong.
		return core.NewBadRequest("DELETE /v2/session logs out a session, and this request's token is not a session token " +
			"(it is a worker's, scheduler's, observer's, gateway's or service account's token); there is no session to delete")
	}
	// Once the deletion has committed (or failed), no cached copy lets the
	// token in again.
	defer s.sessions.Forget(p.SessionID)
	return s.store.Sessions().Delete(ctx, p.SessionID)
}

// WhoAmI names the caller.
func (s *Service) WhoAmI(ctx context.Context) (*core.PrincipalReference, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	ref := p.Reference()
	if ref == nil {
		return nil, &core.AuthorizationError{Reason: "built-in service principals have no identity to report"}
	}
	return ref, nil
}
