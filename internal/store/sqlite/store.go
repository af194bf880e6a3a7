// Package sqlite implements core.Store on a single SQLite file.
//
// One writer, many readers: every write goes through one goroutine that owns
// the only write connection and commits waiting transactions in groups (see
// tx.go), while reads outside a transaction use a separate pool of read-only
// connections that WAL lets run alongside the writer. Commits are durable
// (synchronous=FULL): Tx returns only once its commit is on disk, and group
// commit shares each fsync among every transaction of the batch.
//
// Objects are stored as their JSON wire documents plus the columns queries
// filter and order on (migrations/); times are Unix nanoseconds, read back
// in UTC. Foreign keys with ON DELETE CASCADE remove what belongs to a
// deleted project or event.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/notify"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Pragmas shared by every connection: wait up to 10s on a lock held by
// another process (a backup, `brigade migrate`), enforce the cascades, keep
// savepoint journals in memory (each Tx is a savepoint of its batch). The
// write connection adds WAL and durable commits; readers are query-only.
const (
	commonParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)"
	writeParams  = commonParams + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	readParams   = commonParams + "&_pragma=query_only(1)"
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

	reqs       chan *txRequest // unbuffered: a successful send means the writer has it
	closing    chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error

	batches atomic.Int64 // committed write batches, for tests of group commit
	waiting atomic.Int64 // Tx callers not yet taken by the writer, for tests
	relaxed bool         // the write connection runs with synchronous=NORMAL (writer only)
	fsyncs  atomic.Int64 // batches committed with synchronous=FULL, for tests

	projects projectStore
	events   eventStore
	jobs     jobStore
	secrets  secretStore
	sessions sessionStore
	logs     logStore
	queue    queueStore
	cleanups cleanupStore
	settings settingStore

	now func() time.Time // the queue's and cleanups' clock
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
	}
	s.projects = projectStore{s}
	s.events = eventStore{s}
	s.jobs = jobStore{s}
	s.secrets = secretStore{s}
	s.sessions = sessionStore{s}
	s.logs = logStore{s}
	s.queue = queueStore{s}
	s.cleanups = cleanupStore{s}
	s.settings = settingStore{s}
	s.now = time.Now
	for _, o := range opts {
		o(s)
	}
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

func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithSlog(logger))
	if err != nil {
		return fmt.Errorf("load embedded migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return err
	}
	for _, r := range results {
		logger.Info("applied database migration", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
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
		s.hub.Close()
		s.closeErr = errors.Join(s.rdb.Close(), s.wdb.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("close SQLite database %s: %w", s.path, s.closeErr)
		}
	})
	return s.closeErr
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

// querier is what *sql.DB and *sql.Tx have in common.
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
	return s.rdb
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
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to lose
	return fn(tx)
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
