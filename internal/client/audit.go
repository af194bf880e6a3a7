package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// AuditSelector filters ListAudit. Empty fields match everything; see
// core.AuditSelector for what each matches.
type AuditSelector struct {
	PrincipalType string // ROOT, USER, SERVICE_ACCOUNT, WORKER, SCHEDULER, OBSERVER, ANONYMOUS
	PrincipalID   string
	Action        string
	Object        string
	Since, Until  time.Time
}

func (s *AuditSelector) query(q url.Values) {
	if s == nil {
		return
	}
	for k, v := range map[string]string{"principalType": s.PrincipalType, "principalID": s.PrincipalID,
		"action": s.Action, "object": s.Object} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !s.Since.IsZero() {
		q.Set("since", s.Since.UTC().Format(time.RFC3339Nano))
	}
	if !s.Until.IsZero() {
		q.Set("until", s.Until.UTC().Format(time.RFC3339Nano))
	}
}

// ListAudit returns one page of the audit log, newest first (GET
// /v2/audit, an addition to Brigade's API; it needs the ADMIN role). sel
// and opts may be nil.
func (c *Client) ListAudit(ctx context.Context, sel *AuditSelector, opts *ListOptions) (*List[core.AuditEntry], error) {
	q := url.Values{}
	sel.query(q)
	opts.query(q)
	var out List[core.AuditEntry]
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v2/audit", query: q, want: http.StatusOK}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
