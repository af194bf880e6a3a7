package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestQueuePlans: the questions asked of the queue on every scheduling pass
// and every lease are answered from its index, without reading the table
// to filter and without a temporary sort, so their cost does not grow with
// the tasks queued.
func TestQueuePlans(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	must(t, s.Projects().Create(ctx, project("demo")), "create project")
	for _, id := range []string{"e1", "e2"} {
		must(t, s.Events().Create(ctx, event("demo", id)), "create event")
		must(t, s.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, ProjectID: "demo", EventID: id}), "enqueue")
	}
	for _, c := range []struct {
		name, query string
		args        []any
		want        []string // each in some line of the plan
	}{
		{"ready", readyQuery, []any{"worker", 1}, []string{"SEARCH q USING COVERING INDEX queue_by_project (kind=? AND project_id>?)"}},
		{"lease", leaseQuery, []any{"worker", 1, "demo"}, []string{"SEARCH queue USING INDEX queue_by_project (kind=? AND project_id=?)"}},
		{"len", lenQuery, []any{"worker"}, []string{"USING COVERING INDEX queue_by_project (kind=?)"}},
		{"nextDue", nextDueQuery, []any{"worker", 1}, []string{"USING COVERING INDEX queue_by_project (kind=?)"}},
	} {
		plan := queryPlan(t, s, c.query, c.args...)
		for _, w := range c.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: plan has no %q:\n%s", c.name, w, plan)
			}
		}
		for _, bad := range []string{"TEMP B-TREE", "SCAN queue"} {
			if strings.Contains(plan, bad) {
				t.Errorf("%s: plan has %q:\n%s", c.name, bad, plan)
			}
		}
	}
}

// queryPlan returns EXPLAIN QUERY PLAN's details for query, one per line.
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.rdb.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	must(t, err, "explain")
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		must(t, rows.Scan(&id, &parent, &unused, &detail), "scan plan")
		lines = append(lines, detail)
	}
	must(t, rows.Err(), "read plan")
	return strings.Join(lines, "\n")
}

// TestJobPlans: appending a job reads its event's last seq from an index,
// and listing an event's jobs walks it in order, so neither reads every job
// row of the event (with its document) nor sorts them.
func TestJobPlans(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	must(t, s.Projects().Create(ctx, project("demo")), "create project")
	must(t, s.Events().Create(ctx, event("demo", "e1")), "create event")
	for _, c := range []struct {
		name, query string
		args        []any
		want        string
	}{
		{"append", insertJobQuery, []any{"e1", "j1", 0, "PENDING", "{}"}, "SEARCH jobs USING COVERING INDEX jobs_by_seq (event_id=?)"},
		{"list", jobsOfEventsQuery(2), []any{"e1", "e2"}, "SEARCH jobs USING INDEX jobs_by_seq (event_id=?)"},
	} {
		plan := queryPlan(t, s, c.query, c.args...)
		if !strings.Contains(plan, c.want) {
			t.Errorf("%s: plan has no %q:\n%s", c.name, c.want, plan)
		}
		for _, bad := range []string{"TEMP B-TREE", "SCAN jobs"} {
			if strings.Contains(plan, bad) {
				t.Errorf("%s: plan has %q:\n%s", c.name, bad, plan)
			}
		}
	}
}
