package api

import (
	"context"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/seal"
)

func secretAD(projectID, key string) []byte { return seal.SecretAD(projectID, key) }

// ListSecrets lists a project's secret keys; values are never returned.
func (s *Service) ListSecrets(ctx context.Context, projectID string, opts core.ListOptions) ([]core.Secret, core.ListMeta, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, core.ListMeta{}, err
	}
	if _, err := s.store.Projects().Get(ctx, projectID); err != nil {
		return nil, core.ListMeta{}, err
	}
	keys, meta, err := s.store.Secrets().List(ctx, projectID, opts)
	if err != nil {
		return nil, core.ListMeta{}, err
	}
	out := make([]core.Secret, len(keys))
	for i, k := range keys {
		out[i] = core.Secret{Key: k}
	}
	return out, meta, nil
}

// SetSecret creates or overwrites one secret, sealed at rest.
func (s *Service) SetSecret(ctx context.Context, projectID, key string, sec *core.Secret) error {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return err
	}
	if sec.Key != key {
		return core.NewBadRequest(fmt.Sprintf("The secret key in the URL path and request body do not match. The path names %q and the body %q.", key, sec.Key))
	}
	if _, err := s.store.Projects().Get(ctx, projectID); err != nil {
		return err
	}
	if _, err := requireProject(ctx, projectID, auth.RoleProjectAdmin); err != nil {
		return err
	}
	sealed, err := s.sealer.Seal([]byte(sec.Value), secretAD(projectID, key))
	if err != nil {
		return fmt.Errorf("sealing secret: %w", err)
	}
	if err := s.store.Secrets().Set(ctx, projectID, key, sealed); err != nil {
		return err
	}
	s.redact.secretsChanged() // redact.go
	return nil
}

// UnsetSecret removes one secret; an absent key is not an error.
func (s *Service) UnsetSecret(ctx context.Context, projectID, key string) error {
	if _, err := requireProject(ctx, projectID, auth.RoleProjectAdmin); err != nil {
		return err
	}
	if _, err := s.store.Projects().Get(ctx, projectID); err != nil {
		return err
	}
	if err := s.store.Secrets().Unset(ctx, projectID, key); err != nil {
		return err
	}
	s.redact.secretsChanged() // redact.go
	return nil
}

// projectSecrets opens every secret of a project, for the worker's
// event.json. Only the substrate calls this, when a worker starts.
func (s *Service) projectSecrets(ctx context.Context, projectID string) (map[string]string, error) {
	all, err := s.store.Secrets().All(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("reading secrets of project %s: %w", projectID, err)
	}
	out := make(map[string]string, len(all))
	for k, sealed := range all {
		v, err := s.sealer.Open(sealed, secretAD(projectID, k))
		if err != nil {
			return nil, fmt.Errorf("opening secret %s of project %s: %w", k, projectID, err)
		}
		out[k] = string(v)
	}
	return out, nil
}
