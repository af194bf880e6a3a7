package storetest

import (
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func auditEntry(at time.Time, kind, id, action, object string) core.AuditEntry {
	return core.AuditEntry{Time: at, Principal: core.AuditPrincipal{Kind: kind, ID: id},
		Action: action, Object: object, Client: "127.0.0.1", Status: 200}
}

func auditIDs(t *testing.T, s core.Store, sel core.AuditSelector) []string {
	t.Helper()
	var (
		out  []string
		cont string
	)
	for {
		page, meta, err := s.Audit().List(t.Context(), sel, core.ListOptions{Limit: 2, Continue: cont})
		must(t, err, "list audit")
		for _, e := range page {
			out = append(out, e.Object)
		}
		if meta.Continue == "" {
			return out
		}
		cont = meta.Continue
	}
}

func auditCases() []testCase {
	t0 := base
	fill := func(t *testing.T, s core.Store) {
		must(t, s.Audit().Append(t.Context(), []core.AuditEntry{
			auditEntry(t0, "ROOT", "root", "POST /v2/projects", "projects/p1"),
			auditEntry(t0.Add(time.Minute), "ROOT", "root", "PUT /v2/projects/{id}/secrets/{key}", "projects/p1/secrets/K"),
			auditEntry(t0.Add(2*time.Minute), "WORKER", "e1", "POST /v2/events/{id}/worker/jobs", "events/e1/worker/jobs/j"),
			auditEntry(t0.Add(3*time.Minute), "ANONYMOUS", "", "POST /v2/sessions", ""),
			auditEntry(t0.Add(4*time.Minute), "ROOT", "root", "DELETE /v2/projects/{id}", "projects/p10"),
		}), "append")
	}
	return []testCase{
		{"Audit/RoundTripNewestFirst", func(t *testing.T, s core.Store) {
			in := []core.AuditEntry{auditEntry(t0, "ROOT", "root", "POST /v2/projects", "projects/p1")}
			in[0].Status, in[0].Error = 409, "project \"p1\" already exists"
			must(t, s.Audit().Append(t.Context(), in), "append")
			if in[0].ID == 0 {
				t.Fatal("append assigned no id")
			}
			fill(t, s)
			got, meta, err := s.Audit().List(t.Context(), core.AuditSelector{}, core.ListOptions{Limit: 100})
			must(t, err, "list")
			wantMeta(t, meta, 0, "audit list")
			if len(got) != 6 || got[0].Object != "projects/p10" || got[5].ID != in[0].ID {
				t.Fatalf("got %+v, want 6 entries, newest first", got)
			}
			last := got[5]
			wantTime(t, &last.Time, t0, "audit time")
			last.Time = in[0].Time
			wantEqual(t, last, in[0], "stored entry")
		}},
		{"Audit/Filters", func(t *testing.T, s core.Store) {
			fill(t, s)
			wantEqual(t, auditIDs(t, s, core.AuditSelector{}),
				[]string{"projects/p10", "", "events/e1/worker/jobs/j", "projects/p1/secrets/K", "projects/p1"}, "all, paged")
			wantEqual(t, auditIDs(t, s, core.AuditSelector{Object: "projects/p1"}),
				[]string{"projects/p1/secrets/K", "projects/p1"}, "object and what is under it, not p10")
			wantEqual(t, auditIDs(t, s, core.AuditSelector{PrincipalKind: "WORKER", PrincipalID: "e1"}),
				[]string{"events/e1/worker/jobs/j"}, "by principal")
			wantEqual(t, auditIDs(t, s, core.AuditSelector{Action: "/secrets/"}),
				[]string{"projects/p1/secrets/K"}, "action containing")
			wantEqual(t, auditIDs(t, s, core.AuditSelector{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}),
				[]string{"events/e1/worker/jobs/j", "projects/p1/secrets/K"}, "time range")
			if _, _, err := s.Audit().List(t.Context(), core.AuditSelector{}, core.ListOptions{Continue: "x"}); err == nil {
				t.Fatal("a bad cursor was accepted")
			} else {
				wantBadRequest(t, err)
			}
		}},
		{"Audit/PruneByAgeAndCount", func(t *testing.T, s core.Store) {
			fill(t, s)
			n, err := s.Audit().Prune(t.Context(), t0.Add(time.Minute), 0)
			must(t, err, "prune by age")
			wantEqual(t, n, int64(1), "pruned by age")
			n, err = s.Audit().Prune(t.Context(), time.Time{}, 2)
			must(t, err, "prune by count")
			wantEqual(t, n, int64(2), "pruned by count")
			wantEqual(t, auditIDs(t, s, core.AuditSelector{}), []string{"projects/p10", ""}, "left")
			n, err = s.Audit().Prune(t.Context(), time.Time{}, 5)
			must(t, err, "prune under the limit")
			wantEqual(t, n, int64(0), "nothing to prune")
		}},
	}
}
