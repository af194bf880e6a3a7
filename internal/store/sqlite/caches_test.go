package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// withStmtCacheSize shrinks the statement caches, so that tests evict.
func withStmtCacheSize(n int) Option { return func(s *Store) { s.stmtCacheSize = n } }

// TestStatementsArePreparedOnce: once warm, writes in new batches and reads
// on the pool and in read transactions prepare nothing again.
func TestStatementsArePreparedOnce(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	must(t, s.Projects().Create(ctx, project("demo")), "create project")
	round := func(i int) {
		t.Helper()
		id := "e" + strconv.Itoa(i)
		must(t, s.Tx(ctx, func(ctx context.Context) error { // one batch per round: nothing else writes
			if err := s.Events().Create(ctx, event("demo", id)); err != nil {
				return err
			}
			return s.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, ProjectID: "demo", EventID: id})
		}), "create event")
		_, err := s.Events().Get(ctx, id) // a read transaction
		must(t, err, "get event")
		_, err = s.Projects().Get(ctx, "demo") // the pool
		must(t, err, "get project")
	}
	// A read transaction prepares a query the second time it sees one.
	for i := range 3 {
		round(i)
	}
	before := s.prepares.Load()
	for i := 3; i < 20; i++ {
		round(i)
	}
	if got := s.prepares.Load() - before; got != 0 {
		t.Errorf("%d statements prepared again once warm, want 0", got)
	}
}

// TestStatementCacheEvictsSafely: with room for two statements, rows of an
// evicted statement stay readable, and concurrent readers that evict each
// other's statements all get their answers.
func TestStatementCacheEvictsSafely(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "brigade.db"), testLogger(t), withStmtCacheSize(2))
	must(t, err, "open")
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	for _, id := range []string{"a", "b", "c"} {
		must(t, s.Projects().Create(ctx, project(id)), "create project")
	}
	const distinct = 5 // queries taking turns in the caches
	plus := func(q querier, i int) error {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT ? + `+strconv.Itoa(i%distinct), 1).Scan(&n); err != nil {
			return err
		}
		if n != 1+i%distinct {
			return fmt.Errorf("SELECT 1 + %d = %d", i%distinct, n)
		}
		return nil
	}
	// readIDs reads the projects while other statements run on q.
	readIDs := func(q querier, churn int) error {
		rows, err := q.QueryContext(ctx, `SELECT id FROM projects ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			got = append(got, id)
			for i := range churn {
				if err := plus(q, len(got)+i); err != nil {
					return err
				}
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if fmt.Sprint(got) != "[a b c]" {
			return fmt.Errorf("read %v, want [a b c]", got)
		}
		return nil
	}

	must(t, s.Tx(ctx, func(ctx context.Context) error { return readIDs(s.state(ctx), 2*distinct) }), "write transaction")

	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for g := range 12 {
		wg.Go(func() {
			for i := range 30 {
				var err error
				switch g % 3 {
				case 0: // read transactions: one connection, rows open while other statements run
					err = s.read(ctx, func(q querier) error { return readIDs(q, distinct) })
				case 1: // the pool: one statement at a time, as a pool may be full
					err = plus(s.pool, g+i)
					if err == nil {
						err = readIDs(s.pool, 0)
					}
				case 2: // write transactions
					err = s.Tx(ctx, func(ctx context.Context) error { return readIDs(s.state(ctx), 1) })
				}
				if err != nil {
					errs <- fmt.Errorf("reader %d, round %d: %w", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAllProjectsSeesEveryCommittedWrite: the documents All keeps in memory
// never hide a committed create, update or delete, nor show a rolled-back
// one.
func TestAllProjectsSeesEveryCommittedWrite(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	want := func(what string, descs ...string) {
		t.Helper()
		for range 2 { // the second read comes from memory
			all, err := s.Projects().All(ctx)
			must(t, err, "all projects")
			var got []string
			for _, p := range all {
				got = append(got, p.Metadata.ID+"="+p.Description)
			}
			if fmt.Sprint(got) != fmt.Sprint(descs) {
				t.Fatalf("%s: all projects %v, want %v", what, got, descs)
			}
		}
	}
	want("empty")
	must(t, s.Projects().Create(ctx, project("a")), "create a")
	want("created a", "a=project a")
	must(t, s.Projects().Create(ctx, project("b")), "create b")
	want("created b", "a=project a", "b=project b")
	p := project("a")
	p.Description = "changed"
	must(t, s.Projects().Update(ctx, p), "update a")
	want("updated a", "a=changed", "b=project b")
	errRollback := fmt.Errorf("roll back")
	err := s.Tx(ctx, func(ctx context.Context) error {
		must(t, s.Projects().Create(ctx, project("c")), "create c")
		if all, err := s.Projects().All(ctx); err != nil || len(all) != 3 {
			t.Errorf("inside the transaction: %d projects, %v; want 3 (a, b and c)", len(all), err)
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatalf("rolled-back transaction: %v", err)
	}
	want("rolled back c", "a=changed", "b=project b")
	must(t, s.Projects().Delete(ctx, "a"), "delete a")
	want("deleted a", "b=project b")
}

// TestProjectDocsDropsAReadThatRacedWithAWrite: documents read before a
// project write committed are not cached once it has.
func TestProjectDocsDropsAReadThatRacedWithAWrite(t *testing.T) {
	var c projectDocs
	_, ticket, ok := c.get()
	if ok {
		t.Fatal("an empty cache answered")
	}
	c.invalidate() // a project write commits while the read runs
	c.put(ticket, []core.Project{*project("stale")})
	if _, _, ok := c.get(); ok {
		t.Fatal("documents read before a committed write were cached")
	}
	_, ticket, _ = c.get()
	c.put(ticket, []core.Project{*project("fresh")})
	if got, _, ok := c.get(); !ok || len(got) != 1 || got[0].Metadata.ID != "fresh" {
		t.Fatalf("cached %v, %v; want the fresh projects", got, ok)
	}
}

// richProject sets every kind of field a project has.
const richProject = `{"metadata":{"id":"rich","created":"2026-01-02T03:04:05.000000006Z"},"description":"d",
 "spec":{"eventSubscriptions":[{"source":"s","types":["a","b"],"qualifiers":{"q":"1"},"labels":{}},{"source":"t"}],
  "workerTemplate":{"container":{"image":"i","command":["c"],"arguments":[],"environment":{"E":"v"}},
   "useWorkspace":true,"git":{"cloneURL":"u","ref":"r"},"kubernetes":{"imagePullSecrets":["x"]},
   "jobPolicies":{"allowPrivileged":true},"defaultConfigFiles":{"f":"g"}}},
 "kubernetes":{"namespace":"n"}}`

// TestDeepCopySharesNothing: a deep copy of projects equals them, keeps nil
// and empty apart, and can be changed everywhere without touching them.
func TestDeepCopySharesNothing(t *testing.T) {
	var orig []core.Project
	must(t, json.Unmarshal([]byte("["+richProject+","+richProject+"]"), &orig), "decode")
	var again []core.Project
	must(t, json.Unmarshal([]byte("["+richProject+","+richProject+"]"), &again), "decode")
	c := deepCopy(orig)
	if !reflect.DeepEqual(c, orig) {
		t.Fatalf("copy differs:\n%+v\n%+v", c, orig)
	}
	if c[0].Spec.EventSubscriptions[0].Labels == nil || c[0].Spec.EventSubscriptions[1].Qualifiers != nil ||
		c[0].Spec.WorkerTemplate.Container.Arguments == nil {
		t.Fatal("the copy mixes up nil and empty")
	}
	for i := range c {
		p := &c[i]
		p.Spec.EventSubscriptions[0].Types[0] = "changed"
		p.Spec.EventSubscriptions[0].Qualifiers["q"] = "changed"
		p.Spec.EventSubscriptions = append(p.Spec.EventSubscriptions[:1], core.EventSubscription{Source: "new"})
		w := &p.Spec.WorkerTemplate
		w.Container.Image = "changed"
		w.Container.Command[0] = "changed"
		w.Container.Environment["E"] = "changed"
		w.Git.Ref = "changed"
		w.Kubernetes.ImagePullSecrets[0] = "changed"
		w.JobPolicies.AllowPrivileged = false
		w.DefaultConfigFiles["f"] = "changed"
		*p.Metadata.Created = p.Metadata.Created.AddDate(1, 0, 0)
		p.Kubernetes.Namespace = "changed"
	}
	if !reflect.DeepEqual(orig, again) {
		t.Fatalf("changing the copy changed the original:\n%+v\n%+v", orig, again)
	}
}

// TestAllProjectsCopies: what All returns can be modified without changing
// what the next call returns.
func TestAllProjectsCopies(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	var p core.Project
	must(t, json.Unmarshal([]byte(richProject), &p), "decode")
	must(t, s.Projects().Create(ctx, &p), "create")
	first, err := s.Projects().All(ctx)
	must(t, err, "all")
	first[0].Spec.EventSubscriptions[0].Qualifiers["q"] = "changed"
	first[0].Spec.WorkerTemplate.Container.Command[0] = "changed"
	second, err := s.Projects().All(ctx)
	must(t, err, "all")
	if got := second[0].Spec.EventSubscriptions[0].Qualifiers["q"]; got != "1" {
		t.Fatalf("qualifier after a caller changed its copy: %q", got)
	}
	if got := second[0].Spec.WorkerTemplate.Container.Command[0]; got != "c" {
		t.Fatalf("command after a caller changed its copy: %q", got)
	}
}

// TestTrimKeepsTheStoreWorking: after Trim has closed the idle readers,
// shrunk the writer's cache and unmapped SQLite's free memory, reads
// (through cached statements whose connections are gone) and writes go on,
// concurrently too, and with Trims among them.
func TestTrimKeepsTheStoreWorking(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	must(t, s.Projects().Create(ctx, project("demo")), "create project")
	must(t, s.Events().Create(ctx, event("demo", "e0")), "create event")
	_, err := s.Events().Get(ctx, "e0")
	must(t, err, "get event")
	if st := s.rdb.Stats(); st.Idle == 0 {
		t.Fatalf("no idle reader before Trim: %+v", st)
	}
	must(t, s.Trim(ctx), "trim")
	if st := s.rdb.Stats(); st.Idle != 0 {
		t.Errorf("%d readers still idle after Trim", st.Idle)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	wg.Go(func() { // trimming while others read and write
		for range 3 {
			if err := s.Trim(ctx); err != nil {
				errs <- err
				return
			}
		}
	})
	for i := range 8 {
		wg.Go(func() {
			id := "e" + strconv.Itoa(i+1)
			if err := s.Events().Create(ctx, event("demo", id)); err != nil {
				errs <- err
				return
			}
			if _, err := s.Events().Get(ctx, id); err != nil {
				errs <- err
				return
			}
			if _, err := s.Projects().Get(ctx, "demo"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	must(t, s.Trim(ctx), "trim again")
}

// BenchmarkSubscriptionMatching: what matching an event against 50
// projects, one of which subscribes, costs with every project copied (All)
// and with only the kept one copied (Matching).
func BenchmarkSubscriptionMatching(b *testing.B) {
	s := openTemp(b)
	ctx := b.Context()
	for i := range 50 {
		var p core.Project
		must(b, json.Unmarshal([]byte(richProject), &p), "decode")
		p.Metadata.ID = fmt.Sprintf("p%02d", i)
		p.Spec.EventSubscriptions[0].Source = fmt.Sprintf("source-%02d", i)
		must(b, s.Projects().Create(ctx, &p), "create")
	}
	keep := func(p *core.Project) bool { return p.Spec.EventSubscriptions[0].Source == "source-07" }
	b.Run("All", func(b *testing.B) {
		for b.Loop() {
			all, err := s.Projects().All(ctx)
			must(b, err, "all")
			var kept []core.Project
			for i := range all {
				if keep(&all[i]) {
					kept = append(kept, all[i])
				}
			}
			if len(kept) != 1 {
				b.Fatalf("kept %d", len(kept))
			}
		}
	})
	b.Run("Matching", func(b *testing.B) {
		for b.Loop() {
			kept, err := s.Projects().Matching(ctx, keep)
			must(b, err, "matching")
			if len(kept) != 1 {
				b.Fatalf("kept %d", len(kept))
			}
		}
	})
}
