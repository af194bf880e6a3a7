package api

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// SignInCodeTTL is how long a sign-in code can be redeemed.
const SignInCodeTTL = time.Minute

// SignInCode is a one-time code that signs a browser in to the dashboard
// as the principal that asked for it (docs/api.md, "Sign-in codes").
type SignInCode struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
}

// signInStateHash is what a code is found by: a hash kept apart from the
// OAuth2 states of third-party logins, which share the column.
func signInStateHash(code string) string { return auth.HashToken("sign-in-code:" + code) }

// CreateSignInCode makes a one-time code, valid for SignInCodeTTL, that
// the dashboard trades for a new session of the caller (root, or the
// user). Only a session can ask: a code must not turn a worker's or a
// service account's token into a browser session. The code is kept as a
// pending session that no token can use, so every server of a
// deployment can redeem it and a root password change ends it.
func (s *Service) CreateSignInCode(ctx context.Context) (*SignInCode, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.SessionID == "" || (p.Kind != auth.KindRoot && p.Kind != auth.KindUser) {
		return nil, &core.AuthorizationError{Reason: "Only a person's session (root or a user) can ask for a dashboard sign-in code; " +
			"log in with brig login first."}
	}
	code := auth.NewToken()[:43] // about 256 bits
	now := s.now()
	exp := now.Add(SignInCodeTTL)
	sess := &core.Session{
		ID: uuid.NewString(), TokenHash: auth.HashToken(auth.NewToken()), // a token nobody holds
		Root: p.Kind == auth.KindRoot, Created: now, Expires: &exp,
		AuthStateHash: signInStateHash(code),
	}
	if p.Kind == auth.KindUser {
		sess.UserID = p.ID
	}
	if err := s.store.Sessions().Create(ctx, sess); err != nil {
		return nil, fmt.Errorf("storing a sign-in code: %w", err)
	}
	return &SignInCode{Code: code, Expires: exp}, nil
}

// RedeemSignInCode trades a code from CreateSignInCode for a new session
// of the same principal, once: the code is deleted by the redemption, and
// a second one (or one after the code expired) is refused.
func (s *Service) RedeemSignInCode(ctx context.Context, code string) (*core.Token, error) {
	refused := &core.AuthenticationError{Reason: "This sign-in code is unknown, used or expired: run brig dashboard again, or sign in with the root password."}
	if code == "" || len(code) > 256 {
		return nil, refused
	}
	pending, err := s.store.Sessions().PendingByStateHash(ctx, signInStateHash(code))
	if core.IsNotFound(err) {
		return nil, refused
	}
	if err != nil {
		return nil, fmt.Errorf("looking up a sign-in code: %w", err)
	}
	// Deleting it claims it: of two redemptions, one deletes it.
	if err := s.store.Sessions().Delete(ctx, pending.ID); err != nil {
		if core.IsNotFound(err) {
			return nil, refused
		}
		return nil, fmt.Errorf("using up a sign-in code: %w", err)
	}
	now := s.now()
	if pending.Expires == nil || !now.Before(*pending.Expires) {
		return nil, refused
	}
	ttl := s.cfg.UserSessionTTL
	if pending.Root {
		if s.cfg.RootLoginDisabled {
			return nil, &core.NotSupportedError{Reason: "Authentication using root credentials is not supported by this server."}
		}
		ttl = s.cfg.RootSessionTTL
	}
	token := auth.NewToken()
	exp := now.Add(ttl)
	sess := &core.Session{ID: uuid.NewString(), TokenHash: auth.HashToken(token), Root: pending.Root,
		UserID: pending.UserID, Created: now, Authenticated: &now, Expires: &exp}
	if err := s.store.Sessions().Create(ctx, sess); err != nil {
		return nil, fmt.Errorf("storing the dashboard's session: %w", err)
	}
	return &core.Token{Value: token}, nil
}
