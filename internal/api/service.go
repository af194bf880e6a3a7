// Package api holds what each endpoint does, independent of HTTP:
// authorisation, validation beyond the schema, fan-out, and writing state and
// queue entries in one transaction. The HTTP layer (internal/httpapi) decodes
// requests, calls these methods with the caller's principal in the context,
// and encodes what they return.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/idp"
	"github.com/brigadeplatform/brigade/internal/ratelimit"
	"github.com/brigadeplatform/brigade/internal/seal"
)

// JobEnvironment is the real environment of a job's containers, by container
// name (the primary container is under the job's name).
type JobEnvironment = map[string]map[string]string

// Config tunes the service.
type Config struct {
	// RootSessionTTL is how long a root session lasts (default 1h).
	RootSessionTTL time.Duration
	// APIAddress is the address workers use to reach the API.
	APIAddress string
	// APICertificate is the PEM certificate the API serves TLS with (empty
	// without TLS); workers trust it.
	APICertificate string
	// SchedulerTokenHash and ObserverTokenHash authenticate the built-in
	// principals (hashes of their tokens, see auth.HashToken).
	SchedulerTokenHash string
	ObserverTokenHash  string
	// Gateways are the gateways that run inside the server, each with
	// the hash of the token it was given (see auth.Gateway).
	Gateways []GatewayIdentity
	// RootLoginDisabled refuses root sessions (501).
	RootLoginDisabled bool
	// ThirdPartyAuth says people log in through a third party (OpenID
	// Connect, GitHub): only then do user sessions authenticate and the
	// user management calls answer (501 otherwise), as in Brigade.
	ThirdPartyAuth bool
	// UserSessionTTL is how long a user's session lasts once its login
	// completed (default 1h).
	UserSessionTTL time.Duration
	// ThirdParty is the identity provider people log in with (with
	// ThirdPartyAuth), and LoginKey the secret each login's PKCE verifier
	// and nonce derive from (see idp.Derive).
	ThirdParty idp.Provider
	LoginKey   []byte
	// GrantReaderToNewUsers gives every new user READER; AdminUserIDs
	// are users who get ADMIN, PROJECT_CREATOR and READER on their first
	// login (Brigade's two options).
	GrantReaderToNewUsers bool
	AdminUserIDs          []string
	// CleanupDelay is how long what a finished event left on the
	// substrate (folders, containers) is kept before it is removed
	// (default 1m). Every transition to a terminal phase schedules that
	// removal in the same transaction, so no crash forgets it.
	CleanupDelay time.Duration
	// GenericSecretCheckRate and GenericSecretCheckBurst limit failed
	// checks of a project's generic gateway secret (see
	// VerifyGenericGatewaySecret): Burst at once per project, then Rate a
	// minute. 0 takes the defaults.
	GenericSecretCheckRate  float64
	GenericSecretCheckBurst int
	// Now is the service's clock (default time.Now); tests share a fake
	// one with the runner and the store.
	Now func() time.Time
	// Metrics is told what changed (nil: nothing; see metrics.go).
	Metrics Metrics
}

// GatewayIdentity is a built-in gateway's principal: its name, the event
// source it may create events for, and the hash of its token.
type GatewayIdentity struct {
	Name, Source, TokenHash string
}

// Service implements the API's operations.
type Service struct {
	store    core.Store
	sealer   *seal.Sealer
	sessions *auth.SessionCache // sessions found by token hash (Authenticate)
	accounts *auth.AccountCache // service accounts found by token hash
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	redact   redactors // secret values masked in logs (redact.go)
	// secretChecks limits failed generic gateway secret checks per
	// project (genericsecret.go).
	secretChecks *ratelimit.Limiter
	metrics      Metrics
	facts        eventFactsCache // what StartJob takes from events (eventfacts.go)
}

// New builds a Service. It keeps state and queue only: the runner
// (internal/runner) starts and follows the work, calling the service as
// the scheduler and observer principals.
func New(store core.Store, sealer *seal.Sealer, cfg Config, log *slog.Logger) *Service {
	if cfg.RootSessionTTL <= 0 {
		cfg.RootSessionTTL = time.Hour
	}
	if cfg.UserSessionTTL <= 0 {
		cfg.UserSessionTTL = time.Hour
	}
	if cfg.CleanupDelay <= 0 {
		cfg.CleanupDelay = time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	var metrics Metrics = noMetrics{}
	if cfg.Metrics != nil {
		metrics = cfg.Metrics
	}
	svc := &Service{store: store, sealer: sealer, cfg: cfg, log: log, metrics: metrics,
		sessions: auth.NewSessionCache(0), accounts: auth.NewAccountCache(0),
		now: func() time.Time { return now().UTC() }}
	svc.secretChecks = newSecretCheckLimiter(cfg, svc.now)
	return svc
}

// Changes returns a channel that receives a value after every commit that
// touched an event, its worker or its jobs (see core.Store.Subscribe).
func (s *Service) Changes(eventID string) (<-chan struct{}, func()) {
	return s.store.Subscribe(core.TopicEvent(eventID))
}

// LogChanges returns a channel that receives a value after log lines of an
// event were stored.
func (s *Service) LogChanges(eventID string) (<-chan struct{}, func()) {
	return s.store.Subscribe(core.TopicLogs(eventID))
}

// QueueChanges returns a channel that receives a value after every
// commit that touched the queue: an event or a job was created, or a task
// taken (the dashboard's lists follow it).
func (s *Service) QueueChanges() (<-chan struct{}, func()) {
	return s.store.Subscribe(core.TopicQueue)
}

// Ready checks that the database answers.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// Authenticate resolves a bearer token to a principal, in Brigade's order:
// scheduler, observer, an event's worker, a service account, a session.
// Principals read from the store are cached by token hash until a change to
// users, accounts or roles (see forgetPrincipals), so a revoke takes effect
// on the next request.
func (s *Service) Authenticate(ctx context.Context, token string) (*auth.Principal, error) {
	if token == "" {
		return nil, &core.AuthenticationError{Reason: `"Authorization" header is missing.`}
	}
	h := auth.HashToken(token)
	// The static tokens are compared in constant time; sessions and worker
	// tokens are found by an index on the hash, whose timing says nothing
	// about a token (finding one from its hash means reversing SHA-256).
	if auth.Equal(h, s.cfg.SchedulerTokenHash) {
		return auth.Scheduler(), nil
	}
	if auth.Equal(h, s.cfg.ObserverTokenHash) {
		return auth.Observer(), nil
	}
	for _, g := range s.cfg.Gateways {
		if auth.Equal(h, g.TokenHash) {
			return auth.Gateway(g.Name, g.Source), nil
		}
	}
	// A cached session or account token is no worker's (tokens are
	// random), so it skips the lookups; a session is checked as if just
	// read.
	if sess, p, ok := s.sessions.Get(h); ok {
		return s.sessionPrincipal(ctx, sess, p)
	}
	if p, ok := s.accounts.Get(h); ok {
		return p, nil
	}
	ticket, accTicket := s.sessions.Ticket(), s.accounts.Ticket()
	eventID, err := s.store.Events().WorkerTokenEvent(ctx, h)
	switch {
	case err == nil:
		return auth.Worker(eventID), nil
	case !core.IsNotFound(err):
		return nil, fmt.Errorf("looking up worker token: %w", err)
	}
	sa, err := s.store.ServiceAccounts().GetByTokenHash(ctx, h)
	switch {
	case err == nil:
		if sa.Locked != nil {
			return nil, lockedError("Service account", sa.Metadata.ID)
		}
		p, err := s.storedPrincipal(ctx, auth.KindServiceAccount, sa.Metadata.ID, "")
		if err == nil {
			s.accounts.Put(accTicket, h, p)
		}
		return p, err
	case !core.IsNotFound(err):
		return nil, fmt.Errorf("looking up service account token: %w", err)
	}
	sess, err := s.store.Sessions().GetByTokenHash(ctx, h)
	if err != nil {
		if core.IsNotFound(err) {
			return nil, &core.AuthenticationError{Reason: "Session not found or may have expired. Please log in again."}
		}
		return nil, fmt.Errorf("looking up session: %w", err)
	}
	p, err := s.sessionPrincipal(ctx, sess, nil)
	if err == nil {
		s.sessions.Put(ticket, sess, p)
	}
	return p, err
}

// lockedError refuses a locked user or service account (Brigade answers
// 403 without a reason).
func lockedError(what, id string) error {
	return &core.AuthorizationError{Reason: fmt.Sprintf(
		"%s %q is locked. An ADMIN can unlock it.", what, id)}
}

// storedPrincipal builds the principal of a user or service account with
// the roles stored for it.
func (s *Service) storedPrincipal(ctx context.Context, kind auth.Kind, id, sessionID string) (*auth.Principal, error) {
	typ := core.PrincipalTypeServiceAccount
	if kind == auth.KindUser {
		typ = core.PrincipalTypeUser
	}
	sys, proj, err := s.store.RoleAssignments().Of(ctx, core.PrincipalReference{Type: typ, ID: id})
	if err != nil {
		return nil, fmt.Errorf("reading the roles of %s %q: %w", typ, id, err)
	}
	return auth.Stored(kind, id, sessionID, sys, proj), nil
}

// forgetPrincipals drops every cached user and service account principal;
// call it once a change to users, accounts or roles has committed.
func (s *Service) forgetPrincipals() {
	s.sessions.ForgetAll()
	s.accounts.ForgetAll()
}

// sessionPrincipal is the principal of a stored session, or why it cannot
// authenticate a request now. p, if not nil, is the principal built for the
// session before (principals are never modified).
func (s *Service) sessionPrincipal(ctx context.Context, sess *core.Session, p *auth.Principal) (*auth.Principal, error) {
	if !sess.Root && !s.cfg.ThirdPartyAuth {
		return nil, &core.AuthenticationError{Reason: "Supplied token was for a session whose owner authenticated using a third-party, " +
			"but authentication using a third-party is no longer supported by this server."}
	}
	if sess.Authenticated == nil {
		return nil, &core.AuthenticationError{Reason: "Supplied token has not been authenticated. Please log in again."}
	}
	if sess.Expires != nil && !s.now().Before(*sess.Expires) {
		return nil, &core.AuthenticationError{Reason: "Supplied token has expired. Please log in again."}
	}
	if p != nil {
		return p, nil
	}
	if sess.Root {
		if s.cfg.RootLoginDisabled {
			return nil, &core.AuthenticationError{Reason: "Supplied token was for an established root session, but " +
				"authentication using root credentials is no longer supported by this server."}
		}
		return auth.Root(sess.ID), nil
	}
	u, err := s.store.Users().Get(ctx, sess.UserID)
	if err != nil {
		return nil, fmt.Errorf("reading the user of session %s: %w", sess.ID, err)
	}
	if u.Locked != nil {
		return nil, lockedError("User", u.Metadata.ID)
	}
	return s.storedPrincipal(ctx, auth.KindUser, u.Metadata.ID, sess.ID)
}

// scheduleCleanup records, inside the caller's transaction, that the
// event's leftovers are to be removed after the cleanup delay (now, when
// the event is gone).
func (s *Service) scheduleCleanup(ctx context.Context, eventID string, deleted bool) error {
	due := s.now().Add(s.cfg.CleanupDelay)
	if deleted {
		due = s.now()
	}
	return s.store.Cleanups().Schedule(ctx, eventID, due)
}

// caller returns the principal in ctx or an authentication error.
func caller(ctx context.Context) (*auth.Principal, error) {
	p := auth.From(ctx)
	if p == nil {
		return nil, &core.AuthenticationError{Reason: `"Authorization" header is missing.`}
	}
	return p, nil
}

// require checks a system role.
func require(ctx context.Context, role auth.Role, scope string) (*auth.Principal, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasRole(role, scope) {
		return nil, forbidden(role, scope)
	}
	return p, nil
}

// requireProject checks a project role.
func requireProject(ctx context.Context, project string, role auth.Role) (*auth.Principal, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasProjectRole(project, role) {
		return nil, &core.AuthorizationError{Reason: fmt.Sprintf("this needs the %s role on project %q", role, project)}
	}
	return p, nil
}

func forbidden(role auth.Role, scope string) error {
	if scope == "" {
		return &core.AuthorizationError{Reason: fmt.Sprintf("this needs the %s role", role)}
	}
	return &core.AuthorizationError{Reason: fmt.Sprintf("this needs the %s role for %q", role, scope)}
}

// casRetries bounds read-check-write loops that lost a compare-and-set race.
const casRetries = 8

// retryCAS runs fn until it succeeds, fails with something other than a
// lost compare-and-set, or has tried casRetries times.
func retryCAS(fn func() error) error {
	var err error
	for i := 0; i < casRetries; i++ {
		err = fn()
		if !errors.Is(err, errLostRace) {
			return err
		}
	}
	return fmt.Errorf("state kept changing under us: %w", err)
}

// errLostRace marks a compare-and-set that failed because another writer
// moved first; the caller re-reads and decides again.
var errLostRace = errors.New("lost a compare-and-set race")

// lostRace converts a store ConflictError from a CAS into errLostRace.
func lostRace(err error) error {
	if core.IsConflict(err) {
		return errLostRace
	}
	return err
}

func timePtr(t time.Time) *time.Time { return &t }

// sanitizeForLog keeps log lines about user input short.
func sanitizeForLog(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strings.ReplaceAll(s, "\n", " ")
}
