package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
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
	c.put(ticket, []projectRow{{id: "stale"}})
	if _, _, ok := c.get(); ok {
		t.Fatal("documents read before a committed write were cached")
	}
	_, ticket, _ = c.get()
	c.put(ticket, []projectRow{{id: "fresh"}})
	if docs, _, ok := c.get(); !ok || len(docs) != 1 || docs[0].id != "fresh" {
		t.Fatalf("cached %v, %v; want the fresh documents", docs, ok)
	}
}
