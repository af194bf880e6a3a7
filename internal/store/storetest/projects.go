package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func projectCases() []testCase {
	return []testCase{
		{"Projects/CreateThenGetRoundTrips", func(t *testing.T, s core.Store) {
			want := mkProject(t, s, "demo")
			got, err := s.Projects().Get(t.Context(), "demo")
			must(t, err, "get project")
			wantTime(t, got.Metadata.Created, base, "created")
			got.Metadata.Created, want.Metadata.Created = nil, nil
			wantEqual(t, got, want, "stored project")
		}},
		{"Projects/CreateStampsCreatedWhenUnset", func(t *testing.T, s core.Store) {
			p := newProject("demo")
			p.Metadata.Created = nil
			before := time.Now()
			must(t, s.Projects().Create(t.Context(), p), "create project")
			got, err := s.Projects().Get(t.Context(), "demo")
			must(t, err, "get project")
			if got.Metadata.Created == nil || got.Metadata.Created.Before(before.Add(-time.Millisecond)) {
				t.Fatalf("created = %v, want a time at or after %v", got.Metadata.Created, before)
			}
			wantTime(t, got.Metadata.Created, *got.Metadata.Created, "created")
		}},
		{"Projects/CreateDuplicateIsConflict", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			p := newProject("demo")
			p.Description = "second"
			wantConflict(t, s.Projects().Create(t.Context(), p))
			got, err := s.Projects().Get(t.Context(), "demo")
			must(t, err, "get project")
			wantEqual(t, got.Description, "project demo", "description after the failed create")
		}},
		{"Projects/GetMissingIsNotFound", func(t *testing.T, s core.Store) {
			_, err := s.Projects().Get(t.Context(), "nope")
			wantNotFound(t, err, "Project")
		}},
		{"Projects/ListOrdersByIDAndPages", func(t *testing.T, s core.Store) {
			for _, id := range []string{"e", "b", "g", "a", "f", "c", "d"} {
				mkProject(t, s, id)
			}
			var got []string
			opts := core.ListOptions{Limit: 3}
			for _, want := range []int64{4, 1, 0} {
				page, meta, err := s.Projects().List(t.Context(), opts)
				must(t, err, "list projects")
				wantMeta(t, meta, want, "projects page")
				if meta.Continue != "" && meta.Continue != page[len(page)-1].Metadata.ID {
					t.Fatalf("continue = %q, want the last id of the page %q", meta.Continue, page[len(page)-1].Metadata.ID)
				}
				got = append(got, projectIDs(page)...)
				opts.Continue = meta.Continue
			}
			wantEqual(t, got, []string{"a", "b", "c", "d", "e", "f", "g"}, "projects across pages")
		}},
		{"Projects/ListLastFullPageHasNoContinue", func(t *testing.T, s core.Store) {
			for _, id := range []string{"a", "b", "c", "d"} {
				mkProject(t, s, id)
			}
			page, meta, err := s.Projects().List(t.Context(), core.ListOptions{Limit: 2})
			must(t, err, "list projects")
			wantMeta(t, meta, 2, "first page")
			page, meta, err = s.Projects().List(t.Context(), core.ListOptions{Limit: 2, Continue: meta.Continue})
			must(t, err, "list projects")
			wantMeta(t, meta, 0, "last page")
			wantEqual(t, projectIDs(page), []string{"c", "d"}, "last page")
		}},
		{"Projects/ListEmptyStore", func(t *testing.T, s core.Store) {
			page, meta, err := s.Projects().List(t.Context(), core.ListOptions{Limit: 10})
			must(t, err, "list projects")
			if len(page) != 0 {
				t.Fatalf("got %d projects, want none", len(page))
			}
			wantMeta(t, meta, 0, "empty list")
		}},
		{"Projects/ListDefaultsToTwentyItems", func(t *testing.T, s core.Store) {
			for i := range 23 {
				mkProject(t, s, idf("p%02d", i))
			}
			page, meta, err := s.Projects().List(t.Context(), core.ListOptions{})
			must(t, err, "list projects")
			if len(page) != 20 {
				t.Fatalf("got %d projects with no limit, want the default of 20", len(page))
			}
			wantMeta(t, meta, 3, "default page")
		}},
		{"Projects/AllReturnsEveryProjectByID", func(t *testing.T, s core.Store) {
			for i := 24; i >= 0; i-- {
				mkProject(t, s, idf("p%02d", i))
			}
			all, err := s.Projects().All(t.Context())
			must(t, err, "all projects")
			if len(all) != 25 {
				t.Fatalf("got %d projects, want 25", len(all))
			}
			for i, p := range all {
				wantEqual(t, p.Metadata.ID, idf("p%02d", i), "project order")
			}
		}},
		{"Projects/MatchingKeepsWhatItIsAskedToByID", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			for i := 9; i >= 0; i-- {
				mkProject(t, s, idf("p%02d", i))
			}
			odd := func(p *core.Project) bool { return p.Metadata.ID[2]%2 == 1 }
			var shown []string
			got, err := s.Projects().Matching(ctx, func(p *core.Project) bool {
				shown = append(shown, p.Metadata.ID)
				return odd(p)
			})
			must(t, err, "matching projects")
			wantEqual(t, projectIDs(got), []string{"p01", "p03", "p05", "p07", "p09"}, "kept projects")
			slices.Sort(shown)
			wantEqual(t, len(slices.Compact(shown)), 10, "projects shown to keep")
			wantEqual(t, got[0].Spec, newProject("p01").Spec, "a kept project's spec")
			// What it returns is the caller's: changing it changes nothing stored.
			got[0].Spec.EventSubscriptions[0].Qualifiers["repo"] = "changed"
			got[0].Spec.WorkerTemplate.DefaultConfigFiles["brigade.js"] = "changed"
			again, err := s.Projects().Matching(ctx, odd)
			must(t, err, "matching projects again")
			wantEqual(t, again[0].Spec, newProject("p01").Spec, "a kept project's spec after a caller changed its copy")
			// In a transaction, it sees the transaction's own writes.
			must(t, s.Tx(ctx, func(ctx context.Context) error {
				if err := s.Projects().Create(ctx, newProject("p11")); err != nil {
					return err
				}
				in, err := s.Projects().Matching(ctx, odd)
				if err != nil {
					return err
				}
				wantEqual(t, projectIDs(in), []string{"p01", "p03", "p05", "p07", "p09", "p11"}, "kept projects in a transaction")
				return nil
			}), "transaction")
		}},
		{"Projects/UpdateReplacesDescriptionAndSpec", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			upd := &core.Project{
				Metadata:    core.ObjectMeta{ID: "demo"},
				Description: "changed",
				Spec:        core.ProjectSpec{WorkerTemplate: core.WorkerSpec{LogLevel: "WARN"}},
			}
			must(t, s.Projects().Update(t.Context(), upd), "update project")
			got, err := s.Projects().Get(t.Context(), "demo")
			must(t, err, "get project")
			wantEqual(t, got.Description, "changed", "description")
			wantEqual(t, got.Spec, upd.Spec, "spec")
			wantTime(t, got.Metadata.Created, base, "created is kept")
			wantEqual(t, got.Kubernetes, &core.ProjectKubernetes{Namespace: "brigade-demo"}, "kubernetes is kept")
		}},
		{"Projects/UpdateMissingIsNotFound", func(t *testing.T, s core.Store) {
			wantNotFound(t, s.Projects().Update(t.Context(), newProject("nope")), "Project")
		}},
		{"Projects/DeleteMissingIsNotFound", func(t *testing.T, s core.Store) {
			wantNotFound(t, s.Projects().Delete(t.Context(), "nope"), "Project")
		}},
		{"Projects/DeleteCascadesToEverythingOfTheProject", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			for _, p := range []string{"gone", "kept"} {
				mkProject(t, s, p)
				e := mkEvent(t, s, p, p+"-e1", base)
				mkJob(t, s, e.Metadata.ID, "build")
				must(t, s.Logs().Append(ctx, core.LogStream{EventID: e.Metadata.ID, Container: "worker"},
					[]core.LogEntry{{Message: "hello"}}), "append log")
				must(t, s.Secrets().Set(ctx, p, "token", []byte("sealed")), "set secret")
				mkTask(t, s, core.TaskWorker, p, e.Metadata.ID, "")
				mkTask(t, s, core.TaskJob, p, e.Metadata.ID, "build")
			}
			must(t, s.Projects().Delete(ctx, "gone"), "delete project")

			_, err := s.Projects().Get(ctx, "gone")
			wantNotFound(t, err, "Project")
			_, err = s.Events().Get(ctx, "gone-e1")
			wantNotFound(t, err, "Event")
			ids, err := s.Events().IDs(ctx, core.EventSelector{ProjectID: "gone"})
			must(t, err, "event ids")
			wantEqual(t, len(ids), 0, "events left of the deleted project")
			_, err = s.Jobs().Get(ctx, "gone-e1", "build")
			wantNotFound(t, err, "Event")
			lines, err := s.Logs().Read(ctx, core.LogStream{EventID: "gone-e1", Container: "worker"}, 0, 10)
			must(t, err, "read logs")
			wantEqual(t, len(lines), 0, "log lines left of the deleted project")
			_, err = s.Secrets().All(ctx, "gone")
			wantNotFound(t, err, "Project")
			for _, kind := range []core.TaskKind{core.TaskWorker, core.TaskJob} {
				n, err := s.Queue().Len(ctx, kind)
				must(t, err, "queue length")
				wantEqual(t, n, 1, string(kind)+" tasks left (the other project's)")
			}
			ready, err := s.Queue().Ready(ctx, core.TaskWorker)
			must(t, err, "ready projects")
			wantEqual(t, ready, []string{"kept"}, "ready projects")

			// The other project is untouched.
			e, err := s.Events().Get(ctx, "kept-e1")
			must(t, err, "get kept event")
			wantEqual(t, len(e.Worker.Jobs), 1, "jobs of the kept event")
			all, err := s.Secrets().All(ctx, "kept")
			must(t, err, "kept secrets")
			wantEqual(t, all, map[string][]byte{"token": []byte("sealed")}, "kept secrets")
		}},
	}
}
