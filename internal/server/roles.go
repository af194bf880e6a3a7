package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/postgres"
)

// Roles of a server process (--role). With PostgreSQL, any number of
// processes share one database: api processes serve the API (and the
// gateways), scheduler processes run the work, one at a time, elected
// with a PostgreSQL advisory lock; all does both in one process, as with
// SQLite, where it is the only role (one process owns the file).
const (
	RoleAll       = "all"
	RoleAPI       = "api"
	RoleScheduler = "scheduler"
)

// schedulerLock names the advisory lock of the active scheduler.
const schedulerLock = "scheduler"

// validateRole fills in the default role and refuses roles the store
// cannot have.
func (c *Config) validateRole() error {
	switch c.Role {
	case "":
		c.Role = RoleAll
	case RoleAll, RoleAPI, RoleScheduler:
	default:
		return fmt.Errorf("--role %q is not known: use all (API and scheduler in one process, the default), "+
			"api (the API only) or scheduler (runs the work; one of them at a time is active)", c.Role)
	}
	if c.Role != RoleAll && !postgres.IsURL(c.Database) {
		return fmt.Errorf("--role %s needs a database that several processes share: give --database postgres://... "+
			"(docs/postgres.md), or leave --role at all", c.Role)
	}
	if c.Role == RoleAPI {
		c.Substrate = "none" // it runs no work
	}
	return nil
}

// runWork runs the runner: under the scheduler lock when the store is
// shared (PostgreSQL), so that one process at a time starts and follows
// work, or at once.
func (s *Server) runWork(ctx context.Context) error {
	run := func(ctx context.Context) error {
		s.metrics.SetLeader(true)
		defer s.metrics.SetLeader(false)
		return s.runner.Run(ctx)
	}
	pg, ok := s.store.(*postgres.Store)
	if !ok {
		return run(ctx)
	}
	err := pg.Lead(ctx, schedulerLock, s.leadership, run)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// leadershipFor is where the scheduler lock's state is kept: nil for a
// store of one process (SQLite), where the runner always runs.
func leadershipFor(st core.Store) *postgres.Leadership {
	if _, ok := st.(*postgres.Store); ok {
		return &postgres.Leadership{}
	}
	return nil
}

// health is what GET /healthz reports beside its status.
type health struct {
	Role   string `json:"role"`
	Ready  bool   `json:"ready"`
	Leader bool   `json:"leader"` // runs the work now (a scheduler that is not is a standby)
	Error  string `json:"error,omitempty"`
}

// healthz answers 200 when the store answers (503 otherwise), with the
// role and whether this process leads the work in X-Brigade-Role and
// X-Brigade-Leader, and as JSON when asked (Accept: application/json); the
// body is "ok" otherwise, as before roles.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := health{Role: s.cfg.Role, Ready: true, Leader: s.leads()}
	if err := s.svc.Ready(r.Context()); err != nil {
		h.Ready, h.Error = false, err.Error()
	}
	w.Header().Set("X-Brigade-Role", h.Role)
	w.Header().Set("X-Brigade-Leader", fmt.Sprint(h.Leader))
	status := http.StatusOK
	if !h.Ready {
		status = http.StatusServiceUnavailable
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(h)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	if h.Ready {
		_, _ = w.Write([]byte("ok"))
		return
	}
	_, _ = w.Write([]byte("not ready: " + h.Error))
}

// leads reports whether this process runs the work now.
func (s *Server) leads() bool {
	if s.runner == nil {
		return false
	}
	if s.leadership == nil {
		return true
	}
	return s.leadership.Leading()
}
