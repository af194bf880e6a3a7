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
	"github.com/brigadeplatform/brigade/internal/seal"
)

// Workloads is what the API asks of the substrate when work starts, is
// stopped or is cleaned up. It is optional: without one, the API keeps the
// state and queue only (and counts running work from the state).
type Workloads interface {
	// StartWorker launches the worker of an event that was just moved to
	// STARTING. token is the worker's bearer token (only its hash is kept).
	StartWorker(ctx context.Context, ev *core.Event, token string) error
	// StartJob launches a job that was just moved to STARTING, with its
	// real (unredacted) environment.
	StartJob(ctx context.Context, ev *core.Event, job *core.Job, env JobEnvironment) error
	// CleanupWorker removes every workload of an event (worker and jobs).
	CleanupWorker(ctx context.Context, eventID string) error
	// CleanupJob removes one job's workloads.
	CleanupJob(ctx context.Context, eventID, jobName string) error
	// RunningWorkers and RunningJobs count live workloads for capacity.
	RunningWorkers(ctx context.Context) (int, error)
	RunningJobs(ctx context.Context) (int, error)
}

// JobEnvironment is the real environment of a job's containers, by container
// name (the primary container is under the job's name).
type JobEnvironment map[string]map[string]string

// Config tunes the service.
type Config struct {
	// RootSessionTTL is how long a root session lasts (default 1h).
	RootSessionTTL time.Duration
	// APIAddress is the address workers use to reach the API.
	APIAddress string
	// SchedulerTokenHash and ObserverTokenHash authenticate the built-in
	// principals (hashes of their tokens, see auth.HashToken).
	SchedulerTokenHash string
	ObserverTokenHash  string
	// RootLoginDisabled refuses root sessions (501).
	RootLoginDisabled bool
}

// Service implements the API's operations.
type Service struct {
	store     core.Store
	sealer    *seal.Sealer
	cfg       Config
	log       *slog.Logger
	workloads Workloads
	now       func() time.Time
}

// New builds a Service. workloads may be nil.
func New(store core.Store, sealer *seal.Sealer, cfg Config, workloads Workloads, log *slog.Logger) *Service {
	if cfg.RootSessionTTL <= 0 {
		cfg.RootSessionTTL = time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, sealer: sealer, cfg: cfg, log: log, workloads: workloads,
		now: func() time.Time { return time.Now().UTC() }}
}

// SetWorkloads attaches the substrate after construction (the substrate may
// need the service to exist first).
func (s *Service) SetWorkloads(w Workloads) { s.workloads = w }

// Store exposes the store for the HTTP layer's streams.
func (s *Service) Store() core.Store { return s.store }

// Ready checks that the database answers.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// Authenticate resolves a bearer token to a principal, in Brigade's order:
// scheduler, observer, an event's worker, a session.
func (s *Service) Authenticate(ctx context.Context, token string) (*auth.Principal, error) {
	if token == "" {
		return nil, &core.AuthenticationError{Reason: "no bearer token in the Authorization header"}
	}
	h := auth.HashToken(token)
	if s.cfg.SchedulerTokenHash != "" && h == s.cfg.SchedulerTokenHash {
		return auth.Scheduler(), nil
	}
	if s.cfg.ObserverTokenHash != "" && h == s.cfg.ObserverTokenHash {
		return auth.Observer(), nil
	}
	ev, err := s.store.Events().GetByWorkerTokenHash(ctx, h)
	switch {
	case err == nil:
		return auth.Worker(ev.Metadata.ID), nil
	case !core.IsNotFound(err):
		return nil, fmt.Errorf("looking up worker token: %w", err)
	}
	sess, err := s.store.Sessions().GetByTokenHash(ctx, h)
	if err != nil {
		if core.IsNotFound(err) {
			return nil, &core.AuthenticationError{Reason: "session not found or expired; log in again"}
		}
		return nil, fmt.Errorf("looking up session: %w", err)
	}
	if sess.Authenticated == nil {
		return nil, &core.AuthenticationError{Reason: "session is not authenticated"}
	}
	if sess.Expires != nil && !s.now().Before(*sess.Expires) {
		return nil, &core.AuthenticationError{Reason: "session expired; log in again"}
	}
	if sess.Root {
		if s.cfg.RootLoginDisabled {
			return nil, &core.AuthenticationError{Reason: "root login is disabled on this server"}
		}
		return auth.Root(sess.ID), nil
	}
	return nil, &core.AuthenticationError{Reason: "user sessions are not supported by this server yet"}
}

// caller returns the principal in ctx or an authentication error.
func caller(ctx context.Context) (*auth.Principal, error) {
	p := auth.From(ctx)
	if p == nil {
		return nil, &core.AuthenticationError{Reason: "no bearer token in the Authorization header"}
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
