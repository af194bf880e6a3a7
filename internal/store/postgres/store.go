// Package postgres implements core.Store on a PostgreSQL database, for
// running several replicas on one state and one queue.
//
// Every write is a PostgreSQL transaction on a connection of a pgxpool
// (statements are prepared once per connection and cached by pgx).
// Transactions travel in the context as with SQLite: inside Tx, each store
// call made with fn's ctx joins it. A commit notifies the topics it touched
// with pg_notify inside the transaction, so PostgreSQL delivers them when,
// and only if, it commits; each process keeps one connection that LISTENs
// and feeds what arrives from other processes into a notify.Hub (a
// process publishes its own commits itself, before Tx returns), so
// followers in every replica wake within milliseconds of a commit made by
// any of them, and nothing polls. The queue leases with SELECT ... FOR UPDATE SKIP LOCKED.
//
// Objects are stored as their JSON wire documents plus the columns queries
// filter and order on (migrations/); times are Unix nanoseconds, read back
// in UTC. Foreign keys with ON DELETE CASCADE remove what belongs to a
// deleted project or event. Migrations run at Open under an advisory lock,
// so replicas can start together.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/notify"
)

//go:embed migrations/*.sql
var migrations embed.FS

// IsURL reports whether a --database value names a PostgreSQL database.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Store is core.Store on PostgreSQL. Create it with Open.
type Store struct {
	log     *slog.Logger
	pool    *pgxpool.Pool
	hub     *notify.Hub
	channel string // the LISTEN/NOTIFY channel of this database and schema
	target  string // host:port/database, for messages (never the password)

	listener  *listener
	stop      context.CancelFunc
	closeOnce sync.Once
	closeErr  error

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

	now      func() time.Time // the queue's clock
	observer Observer         // told commit times (WithObserver)
}

// Option tunes Open.
type Option func(*options)

type options struct {
	now      func() time.Time
	maxConns int32
	observer Observer
}

// WithClock makes the queue read time from now instead of the wall clock.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Observer is told how long the store's writes take, for monitoring
// (package metrics implements it; docs/metrics.md). It has the SQLite
// store's shape; here every transaction is its own commit.
type Observer interface {
	// TxCommitted: a Tx call committed, d after it was made.
	TxCommitted(d time.Duration)
	// BatchCommitted: one COMMIT of txs transactions took d.
	BatchCommitted(d time.Duration, txs int)
}

// WithObserver reports commit times to o.
func WithObserver(o Observer) Option { return func(opts *options) { opts.observer = o } }

type noObserver struct{}

func (noObserver) TxCommitted(time.Duration)         {}
func (noObserver) BatchCommitted(time.Duration, int) {}

// WithMaxConns sizes the connection pool (a pool_max_conns in the URL
// wins over it).
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

var _ core.Store = (*Store)(nil)

// DefaultMaxConns is the pool size when neither the URL (pool_max_conns)
// nor WithMaxConns sets one: enough for the API's concurrent requests and
// the scheduler on a small machine, few enough that a handful of replicas
// stay well below PostgreSQL's default max_connections (100).
func DefaultMaxConns() int32 { return int32(max(8, 2*runtime.GOMAXPROCS(0))) }

// Open connects to the database at url (postgres://user:pass@host:port/db?...),
// brings its schema up to date under an advisory lock, and starts listening
// for the notifications of every replica's commits. A bad or unreachable URL
// fails here, naming the host tried and what to check.
func Open(ctx context.Context, url string, logger *slog.Logger, opts ...Option) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := options{now: time.Now, observer: noObserver{}}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL store: the URL is not valid (want postgres://user:password@host:5432/database): %s", redact(err))
	}
	target := describe(cfg.ConnConfig)
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A host that drops packets would otherwise hold the start for
		// the system's TCP timeout (minutes); connect_timeout overrides.
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns()
		if o.maxConns > 0 {
			cfg.MaxConns = o.maxConns
		}
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	own := newPIDSet()
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		own.add(c.PgConn().PID())
		return nil
	}
	cfg.BeforeClose = func(c *pgx.Conn) { own.remove(c.PgConn().PID()) }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL store at %s: %w", target, err)
	}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, unreachable(target, err)
	}
	if err := migrate(ctx, pool, logger); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate PostgreSQL database %s: %w", target, err)
	}
	s := &Store{
		log:     logger,
		pool:    pool,
		hub:     notify.New(),
		channel: "brigade:" + schema,
		target:  target,
		now:     o.now,

		observer: o.observer,
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
	s.deliveries = deliveryStore{s}
	s.users, s.accounts, s.roles = userStore{s}, serviceAccountStore{s}, roleStore{s}
	s.audit = auditStore{s}

	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.listener = newListener(cfg.ConnConfig, s.channel, s.hub, own, logger)
	if err := s.listener.connect(ctx); err != nil {
		stop()
		pool.Close()
		return nil, unreachable(target, fmt.Errorf("listen for notifications: %w", err))
	}
	go s.listener.run(lctx)
	logger.Debug("opened PostgreSQL store", "database", target, "schema", schema, "max_conns", cfg.MaxConns)
	return s, nil
}

// describe names a connection's target without its password.
func describe(c *pgx.ConnConfig) string {
	host := c.Host
	if strings.HasPrefix(host, "/") {
		return fmt.Sprintf("%s (socket) port %d database %q", host, c.Port, c.Database)
	}
	return fmt.Sprintf("%s:%d database %q as user %q", host, c.Port, c.Database, c.User)
}

// redact keeps a URL parse error from echoing the URL, and so the
// password: pgx quotes the connection string, redacted best effort only.
func redact(err error) string {
	msg := err.Error()
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if _, rest, ok := strings.Cut(msg, "`: "); ok {
			return rest
		}
		return "cannot parse the connection string"
	}
	return msg
}

// unreachable says what to check when the first statement fails.
func unreachable(target string, err error) error {
	return fmt.Errorf("connect to PostgreSQL at %s: %w (check that the server runs and accepts TCP connections there, "+
		"that the database exists, and the user, password and sslmode in --database)", target, err)
}

// Close stops listening, wakes every subscriber and closes the pool. It is
// safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.listener.wait()
		s.hub.Close()
		s.pool.Close()
	})
	return s.closeErr
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping PostgreSQL at %s: %w", s.target, err)
	}
	return nil
}

// Subscribe implements core.Store.
func (s *Store) Subscribe(topic string) (<-chan struct{}, func()) {
	return s.hub.Subscribe(topic)
}

// Pool is the connection pool, for what runs beside the store in the same
// database (leader election).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

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

// Users implements core.Store.
func (s *Store) Users() core.UserStore { return s.users }

// ServiceAccounts implements core.Store.
func (s *Store) ServiceAccounts() core.ServiceAccountStore { return s.accounts }

// RoleAssignments implements core.Store.
func (s *Store) RoleAssignments() core.RoleAssignmentStore { return s.roles }

// Audit implements core.Store.
func (s *Store) Audit() core.AuditStore { return s.audit }

// Deliveries implements core.Store.
func (s *Store) Deliveries() core.DeliveryStore { return s.deliveries }
