package api

import (
	"context"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// ListAudit returns one page of the audit log, newest first; it needs the
// ADMIN role.
func (s *Service) ListAudit(ctx context.Context, sel core.AuditSelector, opts core.ListOptions) ([]core.AuditEntry, core.ListMeta, error) {
	if _, err := require(ctx, auth.RoleAdmin, ""); err != nil {
		return nil, core.ListMeta{}, err
	}
	return s.store.Audit().List(ctx, sel, opts)
}
