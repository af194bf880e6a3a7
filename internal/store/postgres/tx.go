package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/brigadeplatform/brigade/internal/core"
)

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// txKey carries the *txState of the transaction a ctx belongs to.
type txKey struct{}

// txState is one level of a transaction: the outermost one owns the
// PostgreSQL transaction, nested ones a savepoint of it. It collects the
// topics its writes touched, to notify with the commit. A pgx connection
// runs one statement at a time, and fn may start goroutines that use the
// store: mu makes them take turns.
type txState struct {
	store  *Store
	tx     pgx.Tx
	mu     *sync.Mutex
	topics map[string]struct{}
	parent *txState            // the enclosing level of a savepoint
	locked map[string]struct{} // events whose row lock this level took
}

// lockEvent takes event id's row lock (FOR NO KEY UPDATE) until the
// transaction ends, once per transaction; outside one it does nothing.
// Every read or write of an event or its jobs inside a transaction takes
// it first: the transactions that touch one event run one after the other,
// each seeing what the one before it committed (as behind SQLite's single
// writer), and always lock the event before its jobs. Foreign key checks
// (a log append's, a job insert's) take a weaker lock that does not wait
// for it. A missing event is left for the caller to report.
func (s *Store) lockEvent(ctx context.Context, id string) error {
	st := s.state(ctx)
	if st == nil {
		return nil
	}
	for l := st; l != nil; l = l.parent {
		if _, ok := l.locked[id]; ok {
			return nil
		}
	}
	var one int
	err := st.QueryRow(ctx, `SELECT 1 FROM events WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&one)
	if noRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock event %q: %w", id, err)
	}
	st.locked[id] = struct{}{}
	return nil
}

// touch records topics to notify once the transaction commits.
func (st *txState) touch(topics ...string) {
	for _, t := range topics {
		st.topics[t] = struct{}{}
	}
}

func (st *txState) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.tx.Exec(ctx, sql, args...)
}

// Query holds the connection until the rows are closed.
func (st *txState) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	st.mu.Lock()
	rows, err := st.tx.Query(ctx, sql, args...)
	if err != nil {
		st.mu.Unlock()
		return nil, err
	}
	return &lockedRows{Rows: rows, unlock: st.mu.Unlock}, nil
}

// QueryRow holds the connection until the row is scanned.
func (st *txState) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	st.mu.Lock()
	return &lockedRow{row: st.tx.QueryRow(ctx, sql, args...), unlock: st.mu.Unlock}
}

type lockedRows struct {
	pgx.Rows
	once   sync.Once
	unlock func()
}

func (r *lockedRows) Close() {
	r.Rows.Close()
	r.once.Do(r.unlock)
}

func (r *lockedRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

type lockedRow struct {
	row    pgx.Row
	unlock func()
}

func (r *lockedRow) Scan(dest ...any) error {
	defer r.unlock()
	return r.row.Scan(dest...)
}

// state returns the transaction ctx belongs to, if it is one of this store's.
func (s *Store) state(ctx context.Context) *txState {
	st, _ := ctx.Value(txKey{}).(*txState)
	if st == nil || st.store != s {
		return nil
	}
	return st
}

// reader returns the transaction in ctx, or the pool outside one. Use it
// for reads of one statement.
func (s *Store) reader(ctx context.Context) querier {
	if st := s.state(ctx); st != nil {
		return st
	}
	return s.pool
}

// read runs fn on one consistent snapshot: the transaction in ctx, or a
// read-only REPEATABLE READ transaction of its own. Use it for reads of
// several statements (an event and its jobs, a page and the count after it).
func (s *Store) read(ctx context.Context, fn func(q querier) error) error {
	if st := s.state(ctx); st != nil {
		return fn(st)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin read transaction on %s: %w", s.target, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only: nothing to lose
	return fn(tx)
}

// write runs fn with the caller's transaction, inside Tx, or in a
// transaction of its own, committed before write returns. fn must not let
// an expected failure become a PostgreSQL error (that aborts the caller's
// whole transaction): check first, or use writeAtomic.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, st *txState) error) error {
	if st := s.state(ctx); st != nil {
		return fn(ctx, st)
	}
	return s.Tx(ctx, func(ctx context.Context) error { return fn(ctx, s.state(ctx)) })
}

// writeAtomic is write for operations of several statements or that may
// fail in the database: inside a caller's transaction it runs in a
// savepoint, so a failure half-way leaves nothing behind and the caller's
// transaction goes on.
func (s *Store) writeAtomic(ctx context.Context, fn func(ctx context.Context, st *txState) error) error {
	if st := s.state(ctx); st != nil {
		return s.nested(ctx, st, func(ctx context.Context) error { return fn(ctx, s.state(ctx)) })
	}
	return s.Tx(ctx, func(ctx context.Context) error { return fn(ctx, s.state(ctx)) })
}

// Tx implements core.Store: fn runs in a PostgreSQL transaction (READ
// COMMITTED; every compare-and-set and lease is one statement or locks
// its rows), whose commit also delivers the notifications of what it
// touched. Inside another Tx it runs in a savepoint.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context) error) error {
	if st := s.state(ctx); st != nil {
		return s.nested(ctx, st, fn)
	}
	asked := time.Now()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin write transaction on %s: %w", s.target, err)
	}
	end := context.WithoutCancel(ctx)
	st := &txState{store: s, tx: tx, mu: &sync.Mutex{}, topics: make(map[string]struct{}), locked: make(map[string]struct{})}
	if core.IsRelaxed(ctx) {
		// The commit need not wait for the WAL to reach the disk: a crash
		// may lose the last moments of relaxed writes, never corrupt.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit TO off`); err != nil {
			_ = tx.Rollback(end)
			return fmt.Errorf("relax durability of a transaction on %s: %w", s.target, err)
		}
	}
	p, err := s.call(context.WithValue(ctx, txKey{}, st), fn)
	if err != nil || p != nil {
		st.mu.Lock()
		_ = tx.Rollback(end)
		st.mu.Unlock()
		if p != nil {
			panic(p)
		}
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := s.notifyTopics(end, tx, st.topics); err != nil {
		_ = tx.Rollback(end)
		return err
	}
	// Once fn is done, wait for the commit's outcome even if ctx ends.
	committing := time.Now()
	if err := tx.Commit(end); err != nil {
		return fmt.Errorf("commit write transaction on %s: %w", s.target, err)
	}
	s.observer.BatchCommitted(time.Since(committing), 1)
	s.observer.TxCommitted(time.Since(asked))
	// This process's followers learn of the commit before Tx returns; the
	// listener skips the notifications it sent (see pidSet).
	s.hub.PublishSet(st.topics)
	return nil
}

// call runs fn, catching a panic to re-raise once the transaction is over.
func (s *Store) call(ctx context.Context, fn func(ctx context.Context) error) (p any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in store transaction", "panic", v, "stack", string(debug.Stack()))
			p = v
		}
	}()
	return nil, fn(ctx)
}

// nested runs fn in a savepoint of the caller's transaction: on error only
// fn's work is rolled back, and its topics are dropped.
func (s *Store) nested(ctx context.Context, parent *txState, fn func(ctx context.Context) error) error {
	parent.mu.Lock()
	sp, err := parent.tx.Begin(ctx)
	parent.mu.Unlock()
	if err != nil {
		return fmt.Errorf("open savepoint: %w", err)
	}
	child := &txState{store: s, tx: sp, mu: parent.mu, topics: make(map[string]struct{}),
		parent: parent, locked: make(map[string]struct{})}
	rollback := func() error {
		parent.mu.Lock()
		defer parent.mu.Unlock()
		if err := sp.Rollback(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("roll back savepoint: %w", err)
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
	parent.mu.Lock()
	err = sp.Commit(ctx)
	parent.mu.Unlock()
	if err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	for t := range child.topics {
		parent.topics[t] = struct{}{}
	}
	for id := range child.locked { // a released savepoint's locks stay
		parent.locked[id] = struct{}{}
	}
	return nil
}

// maxPayload keeps each notification below PostgreSQL's limit (8000 bytes).
const maxPayload = 7900

// wakeAll is the payload that wakes every subscriber: for a topic too
// long to send, and what a listener does after reconnecting.
const wakeAll = "*"

// notifyTopics queues the topics with pg_notify in tx: PostgreSQL delivers
// them to every listener when tx commits, in commit order, and drops them
// if it does not. Topics go newline-separated, as few notifications as the
// payload limit allows.
func (s *Store) notifyTopics(ctx context.Context, tx pgx.Tx, topics map[string]struct{}) error {
	if len(topics) == 0 {
		return nil
	}
	list := make([]string, 0, len(topics))
	for t := range topics {
		if len(t) > maxPayload || strings.Contains(t, "\n") {
			t = wakeAll
		}
		list = append(list, t)
	}
	sort.Strings(list)
	var payloads []string
	var b strings.Builder
	for _, t := range list {
		if b.Len() > 0 && b.Len()+1+len(t) > maxPayload {
			payloads = append(payloads, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(t)
	}
	payloads = append(payloads, b.String())
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, s.channel, payloads); err != nil {
		return fmt.Errorf("notify the commit's topics on %s: %w", s.target, err)
	}
	return nil
}
