package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/store/postgres/pgtest"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

type healthReport struct {
	Role   string
	Ready  bool
	Leader bool
}

func healthOf(t *testing.T, srv *server.Server) healthReport {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL()+"/healthz", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h healthReport
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %d %v", resp.StatusCode, err)
	}
	if resp.Header.Get("X-Brigade-Role") != h.Role {
		t.Fatalf("X-Brigade-Role %q, body says %q", resp.Header.Get("X-Brigade-Role"), h.Role)
	}
	return h
}

// TestRoles: on one PostgreSQL database, an api process serves and leads
// nothing; of two scheduler processes one leads and the other stands by,
// and takes over when the leader stops.
func TestRoles(t *testing.T) {
	url := pgtest.Schema(t)
	start := func(role string) (*server.Server, func()) {
		return testenv.Server(t, server.Config{Database: url, Role: role, RootPassword: rootPassword,
			Substrate: "local", StandbyWorkers: -1, CleanupDelay: time.Hour})
	}
	api, _ := start(server.RoleAPI)
	if h := healthOf(t, api); h.Role != "api" || !h.Ready || h.Leader {
		t.Fatalf("api process reports %+v", h)
	}
	a, stopA := start(server.RoleScheduler)
	b, stopB := start(server.RoleScheduler)
	var (
		standby    *server.Server
		stopLeader func()
	)
	deadline := time.Now().Add(30 * time.Second)
	for standby == nil {
		ha, hb := healthOf(t, a), healthOf(t, b)
		switch {
		case ha.Leader && hb.Leader:
			t.Fatal("both schedulers lead")
		case ha.Leader:
			standby, stopLeader = b, stopA
		case hb.Leader:
			standby, stopLeader = a, stopB
		case time.Now().After(deadline):
			t.Fatal("no scheduler took the lead")
		default:
			time.Sleep(50 * time.Millisecond)
		}
	}
	stopLeader()
	deadline = time.Now().Add(30 * time.Second)
	for !healthOf(t, standby).Leader {
		if time.Now().After(deadline) {
			t.Fatal("the standby did not take over after the leader stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if h := healthOf(t, standby); h.Role != "scheduler" {
		t.Fatalf("standby reports %+v", h)
	}
}

func TestRoleNeedsPostgreSQL(t *testing.T) {
	cfg := server.Config{DataDir: t.TempDir(), Role: server.RoleScheduler}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Fatalf("--role scheduler on SQLite: %v, want an error naming what to give", err)
	}
	cfg = server.Config{DataDir: t.TempDir(), Role: "leader"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "all") {
		t.Fatalf("--role leader: %v, want an error listing the roles", err)
	}
}
