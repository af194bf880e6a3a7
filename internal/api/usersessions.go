package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/idp"
)

// pendingLoginTTL is how long a third-party login may take between its
// start and the provider sending the browser back.
const pendingLoginTTL = 10 * time.Minute

// CreateUserSession starts a third-party login (POST /v2/sessions without
// root): a session whose token works only once the person has logged in
// with the provider at the returned URL. successURL, if given, is where
// the browser goes afterwards.
func (s *Service) CreateUserSession(ctx context.Context, successURL string) (*core.ThirdPartyAuthDetails, error) {
	if s.cfg.ThirdParty == nil || !s.cfg.ThirdPartyAuth {
		return nil, &core.NotSupportedError{Reason: "Authentication using a third party identity provider is not supported by this server. " +
			"Log in as root (brig login --root)."}
	}
	if successURL != "" {
		u, err := url.Parse(successURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, core.NewBadRequest(fmt.Sprintf("successURL %q is not an absolute http or https URL", successURL))
		}
	}
	state := auth.NewToken()[:64]
	authURL, err := s.cfg.ThirdParty.AuthURL(ctx, idp.Derive(s.cfg.LoginKey, state))
	if err != nil {
		return nil, fmt.Errorf("starting a login with the %s provider: %w", s.cfg.ThirdParty.Name(), err)
	}
	token := auth.NewToken()
	sess := &core.Session{ID: uuid.NewString(), TokenHash: auth.HashToken(token), Created: s.now(),
		AuthStateHash: auth.HashToken(state), SuccessURL: successURL}
	if err := s.store.Sessions().Create(ctx, sess); err != nil {
		return nil, fmt.Errorf("storing session: %w", err)
	}
	return &core.ThirdPartyAuthDetails{AuthURL: authURL, Token: token}, nil
}

// CompleteUserSession finishes a third-party login when the provider sends
// the browser back (GET /v2/session/auth): it trades the code for the
// person's identity, makes sure they are a user here, and lets the
// session's token in. It returns where the browser goes next ("" for the
// server's own page) and who logged in (once the provider said).
func (s *Service) CompleteUserSession(ctx context.Context, state, code string) (next, userID string, err error) {
	if s.cfg.ThirdParty == nil || !s.cfg.ThirdPartyAuth {
		return "", userID, &core.NotSupportedError{Reason: "Authentication using a third party identity provider is not supported by this server."}
	}
	if state == "" || code == "" {
		return "", userID, core.NewBadRequest("The OAuth2 callback needs both the state and the code query parameters.")
	}
	sess, err := s.store.Sessions().PendingByStateHash(ctx, auth.HashToken(state))
	if core.IsNotFound(err) {
		return "", userID, &core.AuthenticationError{Reason: "This login is unknown or already complete: start again with brig login."}
	}
	if err != nil {
		return "", userID, err
	}
	if s.now().Sub(sess.Created) > pendingLoginTTL {
		return "", userID, &core.AuthenticationError{Reason: fmt.Sprintf(
			"This login was started over %s ago and has expired: start again with brig login.", pendingLoginTTL)}
	}
	who, err := s.cfg.ThirdParty.Exchange(ctx, idp.Derive(s.cfg.LoginKey, state), code)
	if idp.IsRefusal(err) {
		return "", userID, &core.AuthenticationError{Reason: "The identity provider's answer was refused: " + err.Error() + "."}
	}
	if err != nil {
		return "", userID, fmt.Errorf("completing a login with the %s provider: %w", s.cfg.ThirdParty.Name(), err)
	}
	u, _, err := s.ensureUser(ctx, strings.TrimSpace(who.ID), who.Name)
	if err != nil {
		return "", userID, err
	}
	userID = u.Metadata.ID
	if u.Locked != nil {
		return "", userID, &core.AuthorizationError{Reason: fmt.Sprintf("User %q is locked: an administrator may unlock it.", u.Metadata.ID)}
	}
	now := s.now()
	done, err := s.store.Sessions().Authenticate(ctx, sess.ID, userID, now, now.Add(s.cfg.UserSessionTTL))
	if core.IsNotFound(err) {
		return "", userID, &core.AuthenticationError{Reason: "This login was completed or cancelled meanwhile: start again with brig login."}
	}
	if err != nil {
		return "", userID, err
	}
	s.log.Info("user logged in", "user", userID, "provider", s.cfg.ThirdParty.Name())
	return done.SuccessURL, userID, nil
}
