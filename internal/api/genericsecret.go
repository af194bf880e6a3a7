package api

import (
	"context"
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/ratelimit"
)

// Defaults of the limit on failed generic gateway secret checks: a
// project's secret can be guessed at this pace at most, whoever asks.
const (
	DefaultGenericSecretCheckRate  = 10 // a minute
	DefaultGenericSecretCheckBurst = 20
)

func newSecretCheckLimiter(cfg Config, now func() time.Time) *ratelimit.Limiter {
	rate, burst := cfg.GenericSecretCheckRate, cfg.GenericSecretCheckBurst
	if rate <= 0 {
		rate = DefaultGenericSecretCheckRate
	}
	if burst <= 0 {
		burst = DefaultGenericSecretCheckBurst
	}
	return ratelimit.New(rate, burst, now)
}

// VerifyGenericGatewaySecret checks value against the project secret named
// core.GenericGatewaySecretKey, inside the API so that the generic gateway
// never reads the secret itself (docs/api.md, "Checking the generic
// gateway secret"). The caller needs EVENT_CREATOR for the generic
// gateway's source, or ADMIN. Every check of an existing project takes a
// token of that project's bucket and a match gives it back, so wrong
// guesses are limited per project (429 once the bucket is empty, right or
// wrong). Neither value is ever logged.
func (s *Service) VerifyGenericGatewaySecret(ctx context.Context, projectID, value string) (core.SecretVerificationResult, error) {
	p, err := caller(ctx)
	if err != nil {
		return "", err
	}
	if !p.HasRole(auth.RoleEventCreator, core.GenericGatewaySource) && !p.HasRole(auth.RoleAdmin, "") {
		return "", &core.AuthorizationError{Reason: fmt.Sprintf(
			"checking the generic gateway secret needs the %s role for %q, or %s",
			auth.RoleEventCreator, core.GenericGatewaySource, auth.RoleAdmin)}
	}
	if _, err := s.store.Projects().Get(ctx, projectID); err != nil {
		return "", err
	}
	ok, wait := s.secretChecks.Take(projectID)
	if !ok {
		// Debug: an attack would flood the log; the audit log has each.
		s.log.Debug("generic gateway secret check refused: too many failed", "project", projectID)
		return "", &core.TooManyRequestsError{RetryAfter: wait, Reason: fmt.Sprintf(
			"Too many failed checks of the generic gateway secret of project %q. Try again in %s.", projectID, wait)}
	}
	want, err := s.genericGatewaySecret(ctx, projectID)
	if err != nil {
		s.secretChecks.Refund(projectID)
		return "", err
	}
	switch {
	case want == "":
		s.secretChecks.Refund(projectID)
		return core.SecretNotSet, nil
	// Hashes first, so that the comparison takes as long whatever the
	// lengths of the two values.
	case auth.Equal(auth.HashToken(value), auth.HashToken(want)):
		s.secretChecks.Refund(projectID)
		return core.SecretMatched, nil
	}
	s.log.Debug("a generic gateway secret check failed", "project", projectID)
	return core.SecretMismatched, nil
}

// genericGatewaySecret is the project's generic gateway secret in clear,
// "" when it has none.
func (s *Service) genericGatewaySecret(ctx context.Context, projectID string) (string, error) {
	sealed, err := s.store.Secrets().Get(ctx, projectID, core.GenericGatewaySecretKey)
	if core.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the generic gateway secret of project %s: %w", projectID, err)
	}
	v, err := s.sealer.Open(sealed, secretAD(projectID, core.GenericGatewaySecretKey))
	if err != nil {
		return "", fmt.Errorf("opening the generic gateway secret of project %s: %w", projectID, err)
	}
	return string(v), nil
}
