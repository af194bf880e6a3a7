// Package sqlite implements core.Store on a single SQLite file.
//
// One writer, many readers: every write goes through one goroutine that owns
// the only write connection and commits waiting transactions in groups (see
// tx.go), while reads outside a transaction use a separate pool of read-only
// connections that WAL lets run alongside the writer. Commits are durable:
// Tx returns only once its commit is on disk (unless it was made with
// core.Relaxed), but the writer does not wait for the disk itself; a syncer
// goroutine syncs the WAL behind it, one sync for every durable commit made
// while the previous one ran (sync.go). Statements
// are prepared once per connection and reused (bounded caches, least
// recently used evicted first).
//
// Objects are stored as their JSON wire documents plus the columns queries
// filter and order on (migrations/); times are Unix nanoseconds, read back
// in UTC. Foreign keys with ON DELETE CASCADE remove what belongs to a
// deleted project or event.
package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlitedrv "modernc.org/sqlite" // also registers the "sqlite" database/sql driver

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/notify"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Pragmas shared by every connection: wait up to 10s on a lock held by
// another process (a backup, `brigade migrate`), enforce the cascades, keep
// savepoint journals in memory (each Tx is a savepoint of its batch). The
// write connection adds WAL and durable commits; readers are query-only,
// each with a page cache of 256 KiB instead of 2 MiB: the file system's
// cache serves them as well, and an idle server keeps less memory.
const (
	commonParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)"
	// The writer commits with synchronous=NORMAL and syncs the WAL itself,
	// off its path, before answering a durable transaction (sync.go).
	writeParams = commonParams + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	readParams  = commonParams + "&_pragma=query_only(1)&_pragma=cache_size(-256)"
)

// errClosed is returned by writes attempted after Close.
var errClosed = errors.New("the SQLite store is closed")

// Store is core.Store on SQLite. Create it with Open.
type Store struct {
	path string
	log  *slog.Logger
	wdb  *sql.DB // the single write connection, used by the writer goroutine only
	rdb  *sql.DB // read-only pool for reads outside a transaction
	hub  *notify.Hub

	wconn  *writeConn // the writer's connection to wdb (writer goroutine only)
	rstmts *stmtCache // statements prepared on rdb (per connection, lazily)
	pool   readPool   // rdb with rstmts: the querier for reads outside a transaction

	reqs       chan *txRequest // unbuffered: a successful send means the writer has it
	closing    chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error

	batches atomic.Int64 // committed write batches, for tests of group commit
	waiting atomic.Int64 // Tx callers not yet taken by the writer, for tests
	fsyncs  atomic.Int64 // syncs of the WAL (sync.go), for tests

	syncq      chan syncRequests // the writer's durable requests, for the syncer
	syncerDone chan struct{}
	syncFile   func(path string) error // replaces the sync in tests (nil: fdatasync)
	syncMu     sync.Mutex
	syncing    chan struct{} // closed when the sync under way ends; nil when none is
	held       atomic.Int64  // transactions (durable or unhurried) the writer holds for a sync, for tests

	stmtCacheSize int          // statements kept prepared per cache
	readers       int          // connections of the read pool
	prepares      atomic.Int64 // statements prepared for the caches, for tests

	projects   projectStore
	events     eventStore
	jobs       jobStore
	secrets    secretStore
	sessions   sessionStore
	logs       logStore
	queue      queueStore
	cleanups   cleanupStore
	settings   settingStore
	deliveries deliveryStore
	users      userStore
	accounts   serviceAccountStore
	roles      roleStore
	audit      auditStore

	projectDocs projectDocs // the documents of all projects (projectStore.All)
	jobCache    jobCache    // jobs' phases and statuses as last committed (jobcache.go)

	now func() time.Time // the queue's and cleanups' clock

	observer Observer // told commit times (WithObserver)
}

// Option tunes Open.
type Option func(*Store)

// WithClock makes the queue read time from now instead of the wall clock
// (unit tests move a fake clock by hand).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

var _ core.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path, brings its
// schema up to date and starts the writer. The directory must exist.
func Open(ctx context.Context, path string, logger *slog.Logger, opts ...Option) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" {
		return nil, fmt.Errorf("open SQLite store: invalid database path %q: give a file path without '?' or '#'", path)
	}
	// Commit with fdatasync(2), as SQLite's own Linux builds do: it syncs
	// the data and the size, which is all a commit needs, without waiting
	// for a journal entry for the file's timestamps as fsync(2) does. The
	// driver's default is fsync; the switch is process-wide.
	_, _ = sqlitedrv.Fdatasync(true) // unavailable (macOS): SQLite syncs its own way
	wdb, err := sql.Open("sqlite", path+"?"+writeParams)
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := checkWritable(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open SQLite database %s (check that the directory exists and is writable): %w", path, err)
	}
	if err := migrate(ctx, wdb, logger); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("migrate SQLite database %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", path+"?"+readParams)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open SQLite read pool for %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	if err := rdb.PingContext(ctx); err != nil {
		rdb.Close()
		wdb.Close()
		return nil, fmt.Errorf("open SQLite read pool for %s: %w", path, err)
	}

	s := &Store{
		path:       path,
		log:        logger,
		wdb:        wdb,
		rdb:        rdb,
		hub:        notify.New(),
		reqs:       make(chan *txRequest),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		syncq:      make(chan syncRequests, 64),
		syncerDone: make(chan struct{}),
		readers:    readers,
	}
	s.pool = readPool{s}
	s.projects = projectStore{s}
	s.events = eventStore{s}
	s.jobs = jobStore{s}
	s.secrets = secretStore{s}
	s.sessions = sessionStore{s}
	s.logs = logStore{s}
	s.queue = queueStore{s}
	s.cleanups = cleanupStore{s}
	s.settings = settingStore{s}
	s.deliveries = deliveryStore{s}
	s.users, s.accounts, s.roles = userStore{s}, serviceAccountStore{s}, roleStore{s}
	s.audit = auditStore{s}
	s.now = time.Now
	s.stmtCacheSize = maxCachedStmts
	s.observer = noObserver{}
	for _, o := range opts {
		o(s)
	}
	s.rstmts = newStmtCache(s.stmtCacheSize)
	// The migrations committed without a sync of their own.
	if err := s.syncWAL(); err != nil {
		rdb.Close()
		wdb.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	go s.syncer()
	go s.writer()
	logger.Debug("opened SQLite store", "path", path)
	return s, nil
}

// checkWritable connects the write connection (which applies its pragmas)
// and verifies that WAL mode took: it does not on some network file systems.
func checkWritable(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, not WAL: the file system may not support shared memory", mode)
	}
	return nil
}

// Close stops the writer (callers still waiting to enter a transaction get
// an error), wakes every subscriber and closes the database. It is safe to
// call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.writerDone
		close(s.syncq) // the writer, its only sender, has stopped
		<-s.syncerDone
		s.jobCache.shut() // before the hub wakes every watch for the last time
		s.hub.Close()
		for _, stmt := range s.rstmts.drain() {
			_ = stmt.Close()
		}
		s.closeErr = errors.Join(s.rdb.Close(), s.wdb.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("close SQLite database %s: %w", s.path, s.closeErr)
		}
	})
	return s.closeErr
}

// Trim gives back the memory an idle server need not hold: the read pool's
// idle connections close (their page caches and prepared statements go;
// the next reads open connections again), the job cache empties, the
// writer's connection frees the pages it caches, and SQLite's allocator
// unmaps what is now free. Nothing is lost but the time to warm up again.
func (s *Store) Trim(ctx context.Context) error {
	s.rdb.SetMaxIdleConns(0) // closes the idle ones
	s.jobCache.clear()
	s.rdb.SetMaxIdleConns(s.readers)
	err := s.write(ctx, func(ctx context.Context, st *txState) error {
		_, err := st.ExecContext(ctx, "PRAGMA shrink_memory")
		return err
	})
	if terr := trimSQLiteAllocator(); terr != nil {
		err = errors.Join(err, fmt.Errorf("unmap SQLite's free memory: %w", terr))
	}
	return err
}

// Ping checks that the database answers reads.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping SQLite database %s: %w", s.path, err)
	}
	return nil
}

// Subscribe implements core.Store.
func (s *Store) Subscribe(topic string) (<-chan struct{}, func()) {
	return s.hub.Subscribe(topic)
}

// Projects implements core.Store.
func (s *Store) Projects() core.ProjectStore { return s.projects }

// Events implements core.Store.
func (s *Store) Events() core.EventStore { return s.events }

// Jobs implements core.Store.
func (s *Store) Jobs() core.JobStore { return s.jobs }

// Secrets implements core.Store.
func (s *Store) Secrets() core.SecretStore { return s.secrets }

// Sessions implements core.Store.
func (s *Store) Sessions() core.SessionStore { return s.sessions }

// Logs implements core.Store.
func (s *Store) Logs() core.LogStore { return s.logs }

// Queue implements core.Store.
func (s *Store) Queue() core.Queue { return s.queue }

// Cleanups implements core.Store.
func (s *Store) Cleanups() core.CleanupStore { return s.cleanups }

// Settings implements core.Store.
func (s *Store) Settings() core.SettingStore { return s.settings }

// Users keeps users (principals.go).
func (s *Store) Users() core.UserStore { return s.users }

// ServiceAccounts keeps service accounts (principals.go).
func (s *Store) ServiceAccounts() core.ServiceAccountStore { return s.accounts }

// RoleAssignments keeps role assignments (roles.go).
func (s *Store) RoleAssignments() core.RoleAssignmentStore { return s.roles }

// Audit implements core.Store.
func (s *Store) Audit() core.AuditStore { return s.audit }

// Deliveries implements core.Store.
func (s *Store) Deliveries() core.DeliveryStore { return s.deliveries }

// querier is what *sql.DB and *sql.Tx have in common: the write
// transaction (*txState), the read pool (readPool) and read transactions
// (*readTx) implement it with prepared statements that are reused.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader returns the transaction in ctx, or the read pool outside one. Use it
// for reads that take a single statement.
func (s *Store) reader(ctx context.Context) querier {
	if st := s.state(ctx); st != nil {
		return st
	}
	return s.pool
}

// read runs fn on one consistent snapshot: the transaction in ctx, or a
// read-only transaction on the read pool. Use it for reads that take several
// statements (an event and its jobs, a page and its remaining count).
func (s *Store) read(ctx context.Context, fn func(q querier) error) error {
	if st := s.state(ctx); st != nil {
		return fn(st)
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	rt := &readTx{s: s, tx: tx}
	err = func() error {
		defer tx.Rollback() //nolint:errcheck // read-only: nothing to lose
		return fn(rt)
	}()
	// Prepare on the pool what the transaction had to parse, now that it no
	// longer holds a connection: preparing needs one, and waiting for one
	// while holding another could deadlock a full pool.
	for _, q := range rt.missed {
		if cs := s.readStmt(ctx, q); cs != nil {
			s.rstmts.release(cs)
		}
	}
	return err
}

// readStmt returns query prepared on the read pool, acquired (release it
// with s.rstmts.release once the query has started: rows keep it open), or
// nil to run the query directly (preparing failed: running it reports the
// error). database/sql prepares it again on each pool connection the first
// time it runs there.
func (s *Store) readStmt(ctx context.Context, query string) *cachedStmt {
	if cs := s.rstmts.acquire(query); cs != nil {
		return cs
	}
	stmt, err := s.rdb.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	s.prepares.Add(1)
	// A pool statement closes only once its last rows are closed: an
	// evicted one can be closed at once.
	cs, old := s.rstmts.add(query, stmt)
	if old != nil {
		_ = old.Close()
	}
	return cs
}

// readPool is the querier for reads outside a transaction.
type readPool struct{ s *Store }

func (p readPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.s.rdb.ExecContext(ctx, query, args...) // read-only: nothing worth caching
}

func (p readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if cs := p.s.readStmt(ctx, query); cs != nil {
		defer p.s.rstmts.release(cs)
		return cs.stmt.QueryContext(ctx, args...)
	}
	return p.s.rdb.QueryContext(ctx, query, args...)
}

func (p readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if cs := p.s.readStmt(ctx, query); cs != nil {
		defer p.s.rstmts.release(cs)
		return cs.stmt.QueryRowContext(ctx, args...)
	}
	return p.s.rdb.QueryRowContext(ctx, query, args...)
}

// readTx is a read-only transaction on the read pool that runs the pool's
// prepared statements. A query not prepared yet runs unprepared and is
// prepared once the transaction is over (see read).
type readTx struct {
	s      *Store
	tx     *sql.Tx
	missed []string
}

// stmt returns the pool's statement for query bound to the transaction
// (database/sql reuses what it prepared on the transaction's connection),
// or nil, noting a query seen before as one to prepare.
func (rt *readTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if cs := rt.s.rstmts.acquire(query); cs != nil {
		defer rt.s.rstmts.release(cs) // the transaction's statement depends on it
		return rt.tx.StmtContext(ctx, cs.stmt)
	}
	if rt.s.rstmts.seenBefore(query) {
		rt.missed = append(rt.missed, query)
	}
	return nil
}

func (rt *readTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return rt.tx.ExecContext(ctx, query, args...)
}

func (rt *readTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := rt.stmt(ctx, query); stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	return rt.tx.QueryContext(ctx, query, args...)
}

func (rt *readTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if stmt := rt.stmt(ctx, query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return rt.tx.QueryRowContext(ctx, query, args...)
}

// write runs fn with the write transaction: the caller's, inside Tx, or a
// transaction of its own, committed before write returns.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, st *txState) error) error {
	if st := s.state(ctx); st != nil {
		return fn(ctx, st)
	}
	return s.Tx(ctx, func(ctx context.Context) error { return fn(ctx, s.state(ctx)) })
}

// writeAtomic is write for operations of several statements: inside a
// caller's transaction it runs in a savepoint of its own, so a failure
// half-way leaves nothing behind even if the caller goes on.
func (s *Store) writeAtomic(ctx context.Context, fn func(ctx context.Context, st *txState) error) error {
	if st := s.state(ctx); st != nil {
		return s.nested(ctx, st, func(ctx context.Context) error { return fn(ctx, s.state(ctx)) })
	}
	return s.Tx(ctx, func(ctx context.Context) error { return fn(ctx, s.state(ctx)) })
}

// stmtCache is a bounded map of prepared statements, least recently used
// evicted first. It is safe for concurrent use. A statement in use
// (acquire ... release) is closed only once its last user has released it.
type stmtCache struct {
	mu    sync.Mutex
	max   int
	stmts map[string]*list.Element // of *cachedStmt
	lru   *list.List               // most recently used at the front
	once  map[string]struct{}      // queries seen once and not prepared (see seenBefore)
}

type cachedStmt struct {
	query   string
	stmt    *sql.Stmt
	users   int  // acquired and not released
	evicted bool // out of the cache: the last user closes it
}

func newStmtCache(max int) *stmtCache {
	return &stmtCache{max: max, stmts: make(map[string]*list.Element), lru: list.New(), once: make(map[string]struct{})}
}

// get returns the statement prepared for query, or nil. It stays open until
// the caller evicts it (add): use get only where evictions are the
// caller's.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.stmts[query]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cachedStmt).stmt
}

// acquire returns the statement prepared for query, or nil; the caller
// releases it once done with it.
func (c *stmtCache) acquire(query string) *cachedStmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.stmts[query]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(e)
	cs := e.Value.(*cachedStmt)
	cs.users++
	return cs
}

// release ends a use begun by acquire or add.
func (c *stmtCache) release(cs *cachedStmt) {
	c.mu.Lock()
	cs.users--
	closeIt := cs.evicted && cs.users == 0
	c.mu.Unlock()
	if closeIt {
		_ = cs.stmt.Close()
	}
}

// add caches stmt for query and returns it acquired, or the statement
// cached for query by another caller in the meantime (and stmt is closed).
// The statement it evicts to make room is closed at once if unused, or
// returned to the caller as retired: get's users close those themselves
// when they know no one uses them any more.
func (c *stmtCache) add(query string, stmt *sql.Stmt) (cs *cachedStmt, retired *sql.Stmt) {
	c.mu.Lock()
	delete(c.once, query)
	if e, ok := c.stmts[query]; ok {
		cs = e.Value.(*cachedStmt)
		cs.users++
		c.mu.Unlock()
		_ = stmt.Close()
		return cs, nil
	}
	cs = &cachedStmt{query: query, stmt: stmt, users: 1}
	c.stmts[query] = c.lru.PushFront(cs)
	var old *cachedStmt
	if c.lru.Len() > c.max {
		old = c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.stmts, old.query)
		old.evicted = true
		if old.users > 0 {
			old = nil // its last user closes it
		}
	}
	c.mu.Unlock()
	if old != nil {
		return cs, old.stmt
	}
	return cs, nil
}

// seenBefore reports whether query was seen before without being prepared,
// and remembers it (a bounded set): a query that recurs is worth preparing,
// one built on the fly for one call may not be.
func (c *stmtCache) seenBefore(query string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.once[query]; ok {
		return true
	}
	if len(c.once) >= c.max {
		clear(c.once)
	}
	c.once[query] = struct{}{}
	return false
}

// drain empties the cache and returns its statements for closing.
func (c *stmtCache) drain() []*sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*sql.Stmt, 0, c.lru.Len())
	for e := c.lru.Front(); e != nil; e = e.Next() {
		cs := e.Value.(*cachedStmt)
		cs.evicted = true
		if cs.users == 0 {
			out = append(out, cs.stmt)
		}
	}
	c.lru.Init()
	clear(c.stmts)
	clear(c.once)
	return out
}
