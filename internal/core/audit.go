package core

import (
	"context"
	"time"
)

// AuditEntry records one state-changing API call: who made it, what it did
// to which object, when, and how it ended. It never holds a secret's value
// or a token. The audit log is an addition to Brigade's API (docs/api.md,
// "Audit log").
type AuditEntry struct {
	// ID orders entries: later calls have larger ids.
	ID   int64     `json:"id"`
	Time time.Time `json:"time"`
	// Principal is who called: its kind (ROOT, USER, SERVICE_ACCOUNT,
	// WORKER, SCHEDULER, OBSERVER, or ANONYMOUS when the call was not
	// authenticated) and id (a worker's is its event's id).
	Principal AuditPrincipal `json:"principal"`
	// Action is the method and route pattern, e.g. "PUT /v2/projects/{id}".
	Action string `json:"action"`
	// Object names what was acted on as a path of kinds and ids, e.g.
	// "projects/p1/secrets/KEY" or "events/e1/worker/jobs/build"; empty
	// when the call names none (a failed login, a bulk delete).
	Object string `json:"object,omitempty"`
	// Client is the caller's network address (without the port).
	Client string `json:"client,omitempty"`
	// Status is the HTTP status of the reply; Error the reason given
	// when it was a refusal or a failure.
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// AuditPrincipal names the caller of an audited call.
type AuditPrincipal struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// AuditSelector filters the audit log. Empty fields match everything.
type AuditSelector struct {
	PrincipalKind string
	PrincipalID   string
	// Action matches entries whose action contains it ("DELETE", or
	// "/v2/projects/{id}/secrets").
	Action string
	// Object matches that object and everything under it:
	// "projects/p1" matches "projects/p1/secrets/KEY" too.
	Object string
	// Since and Until bound the time: Since <= Time < Until.
	Since, Until time.Time
}

// AuditStore keeps the audit log, newest entries first.
type AuditStore interface {
	// Append stores entries, assigning their ids in order.
	Append(ctx context.Context, entries []AuditEntry) error
	// List returns one page of the entries sel matches, newest first.
	List(ctx context.Context, sel AuditSelector, opts ListOptions) ([]AuditEntry, ListMeta, error)
	// Prune removes the entries older than before (zero: no age limit)
	// and all but the newest keep (<= 0: no count limit); it returns how
	// many it removed.
	Prune(ctx context.Context, before time.Time, keep int) (int64, error)
}
