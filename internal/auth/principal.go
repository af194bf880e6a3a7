// Package auth identifies callers and decides what they may do: bearer
// tokens and their hashes, the built-in principals (root, scheduler,
// observer, an event's worker) and Brigade's role checks (docs/api.md,
// "Roles and principals").
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Role is a system or project role.
type Role = core.Role

// System roles.
const (
	RoleAdmin          Role = "ADMIN"
	RoleReader         Role = "READER"
	RoleProjectCreator Role = "PROJECT_CREATOR"
	RoleEventCreator   Role = "EVENT_CREATOR"
	RoleScheduler      Role = "SCHEDULER"
	RoleObserver       Role = "OBSERVER"
	RoleWorker         Role = "WORKER"
)

// Project roles.
const (
	RoleProjectAdmin     Role = "PROJECT_ADMIN"
	RoleProjectDeveloper Role = "PROJECT_DEVELOPER"
	RoleProjectUser      Role = "PROJECT_USER"
)

// Wildcard matches any scope or project.
const Wildcard = "*"

// Kind tells principals apart.
type Kind int

// Principal kinds.
const (
	KindRoot Kind = iota + 1
	KindScheduler
	KindObserver
	KindWorker
	KindUser
	KindServiceAccount
	KindGateway
)

// Assignment is a role granted to a principal: a system role with an
// optional scope, or a project role on a project id.
type Assignment struct {
	Role    Role
	Scope   string // system roles
	Project string // project roles
}

// Principal is an authenticated caller.
type Principal struct {
	Kind      Kind
	ID        string // user or service account id; "root", "scheduler", ...
	EventID   string // for workers: the event they serve
	SessionID string // set when authenticated by a session token
	System    []Assignment
	Projects  []Assignment
}

// Root is the all-powerful root user.
func Root(sessionID string) *Principal {
	return &Principal{
		Kind: KindRoot, ID: "root", SessionID: sessionID,
		System: []Assignment{
			{Role: RoleAdmin}, {Role: RoleReader}, {Role: RoleProjectCreator},
			{Role: RoleEventCreator, Scope: Wildcard},
		},
		Projects: []Assignment{
			{Role: RoleProjectAdmin, Project: Wildcard},
			{Role: RoleProjectDeveloper, Project: Wildcard},
			{Role: RoleProjectUser, Project: Wildcard},
		},
	}
}

// Scheduler is the built-in principal that starts workers and jobs.
func Scheduler() *Principal {
	return &Principal{Kind: KindScheduler, ID: "scheduler",
		System: []Assignment{{Role: RoleReader}, {Role: RoleScheduler}}}
}

// Observer is the built-in principal that reports phases.
func Observer() *Principal {
	return &Principal{Kind: KindObserver, ID: "observer",
		System: []Assignment{{Role: RoleReader}, {Role: RoleObserver}}}
}

// Worker is the principal of one event's worker.
func Worker(eventID string) *Principal {
	return &Principal{Kind: KindWorker, ID: "worker", EventID: eventID,
		System: []Assignment{{Role: RoleReader}, {Role: RoleWorker, Scope: eventID}}}
}

// Gateway is the principal of a gateway that runs inside the server: it
// reads, and creates events of its own source only.
func Gateway(name, source string) *Principal {
	return &Principal{Kind: KindGateway, ID: name,
		System: []Assignment{{Role: RoleReader}, {Role: RoleEventCreator, Scope: source}}}
}

// Stored builds the principal of a user (KindUser) or service account
// (KindServiceAccount) from the assignments stored for it.
func Stored(kind Kind, id, sessionID string, sys []core.RoleAssignment, proj []core.ProjectRoleAssignment) *Principal {
	p := &Principal{Kind: kind, ID: id, SessionID: sessionID}
	for _, a := range sys {
		p.System = append(p.System, Assignment{Role: a.Role, Scope: a.Scope})
	}
	for _, a := range proj {
		p.Projects = append(p.Projects, Assignment{Role: a.Role, Project: a.ProjectID})
	}
	return p
}

// HasRole reports whether p holds a system role for scope. A stored scope
// of "*" matches any scope; an empty scope matches only unscoped grants.
// There is no hierarchy: ADMIN does not imply READER.
func (p *Principal) HasRole(role Role, scope string) bool {
	if p == nil {
		return false
	}
	for _, a := range p.System {
		if a.Role == role && (a.Scope == scope || a.Scope == Wildcard) {
			return true
		}
	}
	return false
}

// HasProjectRole reports whether p holds a project role on project.
func (p *Principal) HasProjectRole(project string, role Role) bool {
	if p == nil {
		return false
	}
	for _, a := range p.Projects {
		if a.Role == role && (a.Project == project || a.Project == Wildcard) {
			return true
		}
	}
	return false
}

// Reference is what whoami reports, nil for built-in service principals.
func (p *Principal) Reference() *core.PrincipalReference {
	switch p.Kind {
	case KindRoot:
		return &core.PrincipalReference{Type: core.PrincipalTypeRoot, ID: "root"}
	case KindUser:
		return &core.PrincipalReference{Type: core.PrincipalTypeUser, ID: p.ID}
	case KindServiceAccount:
		return &core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: p.ID}
	}
	return nil
}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal in ctx, or nil.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewToken returns a fresh random 256-character alphanumeric token.
func NewToken() string {
	out := make([]byte, 0, 256)
	buf := make([]byte, 64)
	for len(out) < 256 {
		rand.Read(buf) // never fails: crypto/rand aborts the process instead
		for _, c := range buf {
			// 248 = 4*62: reject the tail so every letter is equally likely.
			if c < 248 && len(out) < 256 {
				out = append(out, tokenAlphabet[int(c)%len(tokenAlphabet)])
			}
		}
	}
	return string(out)
}

// HashToken is the one-way hash under which a token is stored.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
