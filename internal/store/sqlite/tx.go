package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxBatch caps how many transactions share one COMMIT.
const maxBatch = 256

// maxCachedStmts bounds the statements kept prepared on the write
// connection and on the read pool; the least recently used go first, so
// queries built on the fly (selectors, multi-row inserts) cannot crowd out
// the fixed ones for long.
const maxCachedStmts = 256

// txKey carries the *txState of the transaction a ctx belongs to.
type txKey struct{}

// txState is one caller's view of the write transaction: the shared batch
// and the topics its writes touched, published only if they commit. It is
// the querier that store methods use inside a transaction.
type txState struct {
	store  *Store
	b      *writeConn
	topics map[string]struct{}
	jobs   []jobChange // what it did to jobs, for the job cache once it commits
	depth  int         // savepoint nesting below the batch's per-caller savepoint
}

// touch records topics to notify once the transaction commits.
func (st *txState) touch(topics ...string) {
	for _, t := range topics {
		st.topics[t] = struct{}{}
	}
}

// ExecContext runs a statement in the transaction.
func (st *txState) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if stmt := st.b.stmt(ctx, query); stmt != nil {
		return stmt.ExecContext(ctx, args...)
	}
	return st.b.conn.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction.
func (st *txState) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := st.b.stmt(ctx, query); stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	return st.b.conn.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the transaction.
func (st *txState) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if stmt := st.b.stmt(ctx, query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return st.b.conn.QueryRowContext(ctx, query, args...)
}

// writeConn is the writer's connection, held for the store's lifetime, with
// the statements prepared on it: each statement is parsed once, not once per
// batch. Transactions on it are plain BEGIN IMMEDIATE ... COMMIT statements
// (database/sql's Tx would tie statements to one transaction). Only the
// writer goroutine begins and ends transactions; fn may run statements from
// other goroutines it starts, hence the mutex.
type writeConn struct {
	conn *sql.Conn

	mu      sync.Mutex
	stmts   *stmtCache
	retired []*sql.Stmt // evicted while a batch may still read from them

	prepares *atomic.Int64 // the store's count, for tests
}

// stmt returns query prepared on the connection, or nil to run it directly
// (preparing failed: running it reports the error).
func (w *writeConn) stmt(ctx context.Context, query string) *sql.Stmt {
	w.mu.Lock()
	defer w.mu.Unlock()
	if stmt := w.stmts.get(query); stmt != nil {
		return stmt
	}
	stmt, err := w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	w.prepares.Add(1)
	// A connection-bound statement is finalized at once when closed, even
	// with rows open, so evicted ones wait for the end of the batch.
	cs, old := w.stmts.add(query, stmt)
	w.stmts.release(cs)
	if old != nil {
		w.retired = append(w.retired, old)
	}
	return stmt
}

// exec runs a statement of the writer's own (BEGIN, SAVEPOINT, COMMIT...).
func (w *writeConn) exec(query string) error {
	ctx := context.Background()
	if stmt := w.stmt(ctx, query); stmt != nil {
		_, err := stmt.ExecContext(ctx)
		return err
	}
	_, err := w.conn.ExecContext(ctx, query)
	return err
}

// endBatch closes the statements evicted during the batch that just ended.
func (w *writeConn) endBatch() {
	w.mu.Lock()
	retired := w.retired
	w.retired = nil
	w.mu.Unlock()
	for _, stmt := range retired {
		_ = stmt.Close()
	}
}

// close closes every statement and gives the connection back to wdb.
func (w *writeConn) close() error {
	w.endBatch()
	for _, stmt := range w.stmts.drain() {
		_ = stmt.Close()
	}
	return w.conn.Close()
}

// broken reports whether err means the connection itself is gone, so the
// writer must open a new one (and prepare its statements again).
func broken(err error) bool {
	return errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn)
}

// writeConn returns the writer's connection, opening it if needed. Writer
// goroutine only.
func (s *Store) writeConn() (*writeConn, error) {
	if s.wconn != nil {
		return s.wconn, nil
	}
	conn, err := s.wdb.Conn(context.Background())
	if err != nil {
		return nil, err
	}
	s.wconn = &writeConn{conn: conn, stmts: newStmtCache(s.stmtCacheSize), prepares: &s.prepares}
	return s.wconn, nil
}

// dropWriteConn forgets a broken write connection. Writer goroutine only.
func (s *Store) dropWriteConn() {
	if s.wconn != nil {
		_ = s.wconn.close()
		s.wconn = nil
	}
}

// state returns the transaction ctx belongs to, if it is one of this store's.
func (s *Store) state(ctx context.Context) *txState {
	st, _ := ctx.Value(txKey{}).(*txState)
	if st == nil || st.store != s {
		return nil
	}
	return st
}

// txRequest is one Tx call waiting for the writer.
type txRequest struct {
	ctx    context.Context
	fn     func(ctx context.Context) error
	done   chan struct{}
	err    error
	ok     bool // fn succeeded and its savepoint was released
	panic  any  // what fn panicked with, re-raised on the caller's goroutine
	topics map[string]struct{}
	jobs   []jobChange
}

// Tx implements core.Store. Outside a transaction it hands fn to the writer,
// which runs it in a savepoint of a shared transaction and returns once that
// transaction has committed. Inside one (ctx came from another Tx's fn) it
// runs fn at once in a nested savepoint.
//
// fn must make every store call with the ctx it is handed: a write made with
// another context waits for the writer, which is busy running fn, and so
// never returns.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context) error) error {
	if st := s.state(ctx); st != nil {
		return s.nested(ctx, st, fn)
	}
	asked := time.Now()
	r := &txRequest{ctx: ctx, fn: fn, done: make(chan struct{})}
	s.waiting.Add(1)
	select {
	case s.reqs <- r:
		s.waiting.Add(-1)
	case <-ctx.Done():
		s.waiting.Add(-1)
		return fmt.Errorf("wait for the database writer: %w", ctx.Err())
	case <-s.closing:
		s.waiting.Add(-1)
		return errClosed
	}
	// Once the writer has the request, wait for the outcome even if ctx ends:
	// the commit is close and returning early would leave it unknown.
	<-r.done
	if r.panic != nil {
		panic(r.panic)
	}
	if r.err == nil {
		s.observer.TxCommitted(time.Since(asked))
	}
	return r.err
}

// writer is the only goroutine that writes. It takes whatever transactions
// are waiting, up to maxBatch, and commits them together.
func (s *Store) writer() {
	defer close(s.writerDone)
	defer s.dropWriteConn()
	batch := make([]*txRequest, 0, maxBatch)
	for {
		select {
		case <-s.closing:
			return
		case r := <-s.reqs:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		batch, rest := s.runBatch(batch, true)
		for len(rest) > 0 {
			_, rest = s.runBatch(rest, false)
		}
		clear(batch)
	}
}

// runBatch runs requests in their own savepoints of one transaction,
// commits once, publishes what the committed savepoints touched, and wakes
// their callers (durable ones once the syncer has synced the commit: see
// sync.go). With hold set, it first runs in the same transaction what comes
// while a sync is under way (holdForSync), and returns batch with them. If
// the transaction breaks down half-way, the callers that ran get an error
// and the requests that had not run yet are returned, to go into a fresh
// transaction.
func (s *Store) runBatch(batch []*txRequest, hold bool) (_, notRun []*txRequest) {
	answered := false
	defer func() {
		if answered {
			return
		}
		for _, r := range batch[:len(batch)-len(notRun)] {
			close(r.done)
		}
	}()
	w, err := s.writeConn()
	if err != nil {
		failAll(batch, fmt.Errorf("connect to %s: %w", s.path, err))
		return batch, nil
	}
	defer w.endBatch()
	began := time.Now()
	if err := w.exec("BEGIN IMMEDIATE"); err != nil {
		s.dropIfBroken(err)
		failAll(batch, fmt.Errorf("begin write transaction on %s: %w", s.path, err))
		return batch, nil
	}
	// A transaction alone in its batch needs no savepoint: if it fails,
	// the batch's transaction is rolled back instead of committed.
	solo := len(batch) == 1
	for i, r := range batch {
		if err := s.runQueued(w, r, solo); err != nil {
			s.abort(w, batch[:i+1], err)
			return batch, batch[i+1:]
		}
	}
	if solo && !batch[0].ok {
		s.rollback(w)
		return batch, nil
	}
	if hold {
		var err error
		if batch, err = s.holdForSync(w, batch); err != nil {
			s.abort(w, batch, err)
			return batch, nil
		}
	}
	if err := w.exec("COMMIT"); err != nil {
		// A COMMIT that failed (SQLITE_BUSY, I/O error) may leave the
		// transaction open: end it, so that the next batch starts clean.
		s.rollback(w)
		err = fmt.Errorf("commit write transaction on %s: %w", s.path, err)
		s.jobCache.clear() // in case the commit happened after all
		for _, r := range batch {
			if r.ok {
				r.ok, r.err = false, err
				if _, ok := r.topics[topicProjects]; ok {
					s.projectDocs.invalidate() // in case the commit happened after all
				}
			}
		}
		return batch, nil
	}
	s.observer.BatchCommitted(time.Since(began), len(batch))
	s.batches.Add(1)
	for _, r := range batch {
		if r.ok {
			s.jobCache.apply(r.jobs)
		}
	}
	published := false
	for _, r := range batch {
		if r.ok {
			if _, ok := r.topics[topicProjects]; ok {
				s.projectDocs.invalidate()
			}
			s.hub.PublishSet(r.topics)
			published = published || len(r.topics) > 0
		}
	}
	answered = true
	if published {
		// Let what the commit woke run first: the scheduler that starts
		// the job just created, the watch that reports a job's end. Go
		// runs the goroutine readied last first, so they would otherwise
		// wait behind the syncer and the callers answered below, unless
		// the other processor steals them (a wake-up that costs more than
		// the wait on this machine). Per-job timeline, 200 sequential
		// jobs: commit → scheduler pass 89 → 28 µs (median).
		runtime.Gosched()
	}
	s.answer(batch)
	return batch, nil
}

// runQueued runs a request taken from the queue in the batch's
// transaction (see runOne), unless its caller has given up waiting.
func (s *Store) runQueued(w *writeConn, r *txRequest, solo bool) error {
	if err := r.ctx.Err(); err != nil {
		r.err = fmt.Errorf("wait for the database writer: %w", err)
		return nil
	}
	return s.runOne(w, r, solo)
}

// abort rolls back a transaction that broke down (err from runOne): it is
// in an unknown state, so every request that ran in it fails.
func (s *Store) abort(w *writeConn, ran []*txRequest, err error) {
	s.rollback(w)
	s.log.Error("write transaction aborted", "path", s.path, "error", err)
	failAll(ran, fmt.Errorf("write transaction on %s aborted: %w", s.path, err))
}

// rollback ends the batch's transaction, if SQLite has not already.
func (s *Store) rollback(w *writeConn) {
	if err := w.exec("ROLLBACK"); err != nil {
		s.dropIfBroken(err)
	}
}

// dropIfBroken drops the write connection if err says it is gone.
func (s *Store) dropIfBroken(err error) {
	if broken(err) {
		s.log.Error("write connection lost; reconnecting", "path", s.path, "error", err)
		s.dropWriteConn()
	}
}

// failAll gives err to every request that has not failed on its own.
func failAll(batch []*txRequest, err error) {
	for _, r := range batch {
		if r.err == nil && r.panic == nil {
			r.ok, r.err = false, err
		}
	}
}

// runOne runs one request in savepoint "fn", or, when it is alone in the
// batch (solo), in the batch's transaction itself, which the caller then
// rolls back if fn failed. fn's own failure is the caller's (r.err /
// r.panic); an error returned from runOne means the savepoint could not be
// opened, released or rolled back, and the whole transaction is lost.
func (s *Store) runOne(b *writeConn, r *txRequest, solo bool) error {
	if !solo {
		if err := b.exec("SAVEPOINT fn"); err != nil {
			return fmt.Errorf("open savepoint: %w", err)
		}
	}
	st := &txState{store: s, b: b, topics: make(map[string]struct{})}
	p, err := s.call(context.WithValue(r.ctx, txKey{}, st), r.fn)
	if solo {
		r.err, r.panic = err, p
		if err == nil && p == nil {
			r.ok, r.topics, r.jobs = true, st.topics, st.jobs
		}
		return nil
	}
	if err != nil || p != nil {
		r.err, r.panic = err, p
		if rerr := b.exec("ROLLBACK TO fn"); rerr != nil {
			return fmt.Errorf("roll back savepoint after %v: %w", errOrPanic(err, p), rerr)
		}
		if rerr := b.exec("RELEASE fn"); rerr != nil {
			return fmt.Errorf("release rolled-back savepoint: %w", rerr)
		}
		return nil
	}
	if err := b.exec("RELEASE fn"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	r.ok, r.topics, r.jobs = true, st.topics, st.jobs
	return nil
}

// call runs fn, turning a panic into a value to re-raise on the caller's
// goroutine (the writer must survive it).
func (s *Store) call(ctx context.Context, fn func(ctx context.Context) error) (p any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in store transaction", "panic", v, "stack", string(debug.Stack()))
			p = v
		}
	}()
	return nil, fn(ctx)
}

func errOrPanic(err error, p any) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("panic: %v", p)
}

// nested runs fn inside the caller's transaction in a savepoint of its own:
// on error only fn's work is rolled back, and its topics are dropped.
func (s *Store) nested(ctx context.Context, parent *txState, fn func(ctx context.Context) error) (err error) {
	name := "nested" + strconv.Itoa(parent.depth+1)
	if err := parent.b.exec("SAVEPOINT " + name); err != nil {
		return fmt.Errorf("open nested savepoint: %w", err)
	}
	child := &txState{store: s, b: parent.b, topics: make(map[string]struct{}), depth: parent.depth + 1}
	rollback := func() error {
		if err := errors.Join(parent.b.exec("ROLLBACK TO "+name), parent.b.exec("RELEASE "+name)); err != nil {
			return fmt.Errorf("roll back nested savepoint: %w", err)
		}
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			_ = rollback()
			panic(p)
		}
	}()
	if err := fn(context.WithValue(ctx, txKey{}, child)); err != nil {
		if rerr := rollback(); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := parent.b.exec("RELEASE " + name); err != nil {
		return fmt.Errorf("release nested savepoint: %w", err)
	}
	for t := range child.topics {
		parent.topics[t] = struct{}{}
	}
	parent.jobs = append(parent.jobs, child.jobs...)
	return nil
}
