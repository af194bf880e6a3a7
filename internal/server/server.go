// Package server assembles `brigade server`: it opens the store, prepares
// the root password and the secrets key, builds the API service and its
// HTTP handler, and runs them until the context ends, then shuts down
// gracefully.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/audit"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
	"github.com/brigadeplatform/brigade/internal/gateway/gateways"
	"github.com/brigadeplatform/brigade/internal/gctune"
	"github.com/brigadeplatform/brigade/internal/httpapi"
	"github.com/brigadeplatform/brigade/internal/httpx"
	"github.com/brigadeplatform/brigade/internal/metrics"
	"github.com/brigadeplatform/brigade/internal/ratelimit"
	"github.com/brigadeplatform/brigade/internal/runner"
	"github.com/brigadeplatform/brigade/internal/seal"
	"github.com/brigadeplatform/brigade/internal/secretskey"
	"github.com/brigadeplatform/brigade/internal/store/postgres"
	"github.com/brigadeplatform/brigade/internal/web"
)

// Config is everything `brigade server` can be told. Defaults are filled by
// Defaults and checked by Validate.
type Config struct {
	Addr           string        // listen address, default 127.0.0.1:7745
	DataDir        string        // SQLite file, secrets key, per-event folders
	Database       string        // empty: <DataDir>/brigade.db; a file path, or postgres://... (docs/postgres.md)
	RootPassword   string        // empty: keep the stored one, or generate on first start
	SecretsKey     string        // 64 hex chars; empty: <DataDir>/secrets.key
	MaxBodyBytes   int64         // request body limit
	RootSessionTTL time.Duration // lifetime of root sessions
	SchedulerToken string        // optional static token for an external scheduler
	ObserverToken  string        // optional static token for an external observer
	// ThirdPartyAuth says people log in through a third party, which makes
	// user sessions and the user calls available (set by that login's
	// configuration; tests set it to create users directly).
	ThirdPartyAuth bool
	APIAddress     string // how workers reach the API; default from Addr
	Version        string
	Commit         string

	// TLS: a certificate and key (PEM files), or TLSSelfSigned to make and
	// keep a self-signed one in the data dir (docs/hardening.md).
	TLSCert       string
	TLSKey        string
	TLSSelfSigned bool

	// Audit log retention (docs/hardening.md): entries older than
	// AuditMaxAge, and beyond the newest AuditMaxEntries, are pruned in
	// the background. 0 takes the default; negative means no limit.
	AuditMaxAge     time.Duration
	AuditMaxEntries int

	// Failed logins allowed per client address: LoginBurst at once, then
	// LoginRate a minute (0: the defaults; a negative LoginRate: no limit).
	LoginRate  float64
	LoginBurst int

	// Execution. Substrate "none" serves the API only (no work runs).
	Substrate            string        // "local" (default), "docker", "kubernetes" or "none"
	Role                 string        // "all" (default), "api" or "scheduler" (roles.go)
	DockerHost           string        // with "docker": the daemon (default $DOCKER_HOST, else the default socket)
	DockerNetwork        string        // with "docker": network mode of job containers (default: the daemon's)
	Kube                 KubeConfig    // with "kubernetes"
	MaxWorkers           int           // running workers at once (default 8)
	MaxJobs              int           // running jobs at once (default 32)
	MaxWorkersPerProject int           // 0: no per-project limit
	CleanupDelay         time.Duration // how long finished workloads are kept (default 1m)
	WorkerCommand        []string      // how to run a worker (default: this binary's "worker")
	// StandbyWorkers is how many worker processes are kept started ahead
	// of events, so that a script starts without waiting for a process
	// (only with the default WorkerCommand). 0 means DefaultStandbyWorkers;
	// a negative number, none.
	StandbyWorkers int

	// Third-party login for people (see login.go): OpenID Connect or
	// GitHub, not both.
	Login LoginConfig

	// Gateways are mounted on the server's listener (docs/gateways.md).
	Gateways gateways.Config

	// MetricsAddr is where Prometheus /metrics is served (docs/metrics.md):
	// empty on Addr, without authentication; host:port on a listener of
	// its own instead; MetricsOff ("none") nowhere.
	MetricsAddr string
}

// DefaultStandbyWorkers is how many standby workers a server keeps.
const DefaultStandbyWorkers = 2

// Default limits of failed logins per client address.
const (
	DefaultLoginRate  = 10 // a minute
	DefaultLoginBurst = 10
)

// DefaultAddr is where the server listens unless told otherwise.
const DefaultAddr = "127.0.0.1:7745"

// DefaultDataDir is the per-user data folder: $XDG_DATA_HOME/brigade, or
// ~/.local/share/brigade.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "brigade")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "brigade")
	}
	return ".brigade-data"
}

// Validate fills defaults and refuses settings that cannot work, naming
// the setting and what to do.
func (c *Config) Validate() error {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q is not host:port (for example 127.0.0.1:7745): %w", c.Addr, err)
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = httpapi.DefaultMaxBodyBytes
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("--max-body-bytes %d is too small; use at least 1024", c.MaxBodyBytes)
	}
	if c.RootSessionTTL == 0 {
		c.RootSessionTTL = time.Hour
	}
	if c.RootSessionTTL < time.Second {
		return fmt.Errorf("--root-session-ttl %s is too short", c.RootSessionTTL)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both files, or neither")
	}
	if c.TLSSelfSigned && c.TLSCert != "" {
		return errors.New("--tls-self-signed makes its own certificate: leave out --tls-cert and --tls-key, or drop --tls-self-signed")
	}
	if c.SecretsKey != "" {
		if _, err := seal.ParseKey(c.SecretsKey); err != nil {
			return fmt.Errorf("--secrets-key: %w", err)
		}
	}
	if err := c.validateRole(); err != nil {
		return err
	}
	switch c.Substrate {
	case "":
		c.Substrate = "local"
	case "local", "docker", "kubernetes", "none":
	default:
		return fmt.Errorf("--substrate %q is not known: use local (host processes), docker (jobs in containers), "+
			"kubernetes (jobs as pods) or none (API only)", c.Substrate)
	}
	switch c.Kube.Workers {
	case "":
		c.Kube.Workers = KubeWorkersHost
	case KubeWorkersHost, KubeWorkersPod:
	default:
		return fmt.Errorf("--kube-workers %q is not known: use host (workers are processes of this server) or pod", c.Kube.Workers)
	}
	if c.DockerHost != "" && !strings.Contains(c.DockerHost, "://") {
		return fmt.Errorf("--docker-host %q is not an address such as unix:///var/run/docker.sock or tcp://127.0.0.1:2375", c.DockerHost)
	}
	if c.MaxWorkers < 0 || c.MaxJobs < 0 || c.MaxWorkersPerProject < 0 {
		return errors.New("--max-workers, --max-jobs and --max-workers-per-project must not be negative")
	}
	if c.LoginRate == 0 {
		c.LoginRate = DefaultLoginRate
	}
	if c.LoginBurst == 0 {
		c.LoginBurst = DefaultLoginBurst
	}
	if c.LoginBurst < 0 {
		return fmt.Errorf("--login-burst %d must not be negative", c.LoginBurst)
	}
	if c.StandbyWorkers == 0 {
		c.StandbyWorkers = DefaultStandbyWorkers
	}
	if err := c.Login.validate(); err != nil {
		return err
	}
	if err := c.validateMetricsAddr(); err != nil {
		return err
	}
	for name, tok := range map[string]string{"--scheduler-token": c.SchedulerToken, "--observer-token": c.ObserverToken} {
		if tok != "" && len(tok) < 16 {
			return fmt.Errorf("%s must be at least 16 characters", name)
		}
	}
	return nil
}

// Server is a running (or ready to run) brigade server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    core.Store
	svc      *api.Service
	runner   *runner.Runner // nil with --substrate none
	sub      core.Substrate // nil with --substrate none
	listener net.Listener
	http     *http.Server
	audit    *audit.Recorder
	tls      bool               // serving HTTPS
	stopReqs context.CancelFunc // ends streams at shutdown
	unlock   func()             // releases the data dir's lock
	gateways []gateway.Gateway

	metrics    *metrics.Metrics
	metricsSrv *metricsServer // nil: /metrics on the API listener, or off
	// leadership says whether this process holds the scheduler lock
	// (PostgreSQL; nil with SQLite, where the runner always runs).
	leadership *postgres.Leadership
}

// buildGateways makes the gateways cfg turns on, each with a token of its
// own, made up now and known to the API service only for this run, that
// may create events of the gateway's source (auth.Gateway). They reach
// the API through the server's own listener, as any gateway would.
func buildGateways(cfg *Config, acfg *api.Config, self string, stls *serverTLS, log *slog.Logger) ([]gateway.Gateway, error) {
	var opts []client.Option
	if stls != nil {
		opts = append(opts, client.WithServerCert(stls.certPEM))
	}
	return cfg.Gateways.Build("", func(name, source string) gateway.Env {
		token := auth.NewToken()
		acfg.Gateways = append(acfg.Gateways, api.GatewayIdentity{Name: name, Source: source, TokenHash: auth.HashToken(token)})
		return gateway.Env{API: client.New(self, token, append(opts, client.WithUserAgent("brigade-gateway/"+name))...),
			Log: log.With("gateway", name)}
	})
}

// New prepares a server: it opens the store and binds the listen address,
// so errors surface before Run. out receives the one-time root password
// notice.
func New(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	gctune.Start() // a server's heap is small and it allocates per request
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir %s: %w (set --data-dir to a writable folder)", cfg.DataDir, err)
	}
	// The data dir's lock keeps `brigade secrets rotate-key` away while
	// the server runs; Run releases it once the store is closed.
	unlock, err := secretskey.LockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	dbPath := cfg.Database
	if dbPath == "" {
		dbPath = filepath.Join(cfg.DataDir, "brigade.db")
	}
	m := metrics.New(log)
	st, err := openStore(ctx, dbPath, log, m)
	if err != nil {
		unlock()
		return nil, err
	}
	closeAll := func() { st.Close(); unlock() }
	key, err := secretskey.Resolve(ctx, st, cfg.DataDir, cfg.SecretsKey, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	sealer, err := seal.New(key)
	if err != nil {
		closeAll()
		return nil, err
	}
	stls, err := loadTLS(&cfg)
	if err != nil {
		closeAll()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("listening on %s: %w (is another server running? choose another --addr)", cfg.Addr, err)
	}
	msrv, err := listenMetrics(cfg, m, log)
	if err != nil {
		ln.Close()
		closeAll()
		return nil, err
	}
	if msrv != nil {
		closeStore := closeAll
		closeAll = func() { msrv.ln.Close(); closeStore() }
	}
	scheme := "http://"
	if stls != nil {
		scheme = "https://"
	}
	apiAddr := cfg.APIAddress
	if apiAddr == "" {
		apiAddr = scheme + ln.Addr().String()
	}
	acfg := api.Config{RootSessionTTL: cfg.RootSessionTTL, APIAddress: apiAddr, CleanupDelay: cfg.CleanupDelay,
		ThirdPartyAuth: cfg.ThirdPartyAuth, Metrics: m}
	if stls != nil {
		acfg.APICertificate = string(stls.certPEM)
		log.Info("serving TLS", "certificate", stls.certFile, "sha256", stls.fingerprint)
		if cfg.TLSSelfSigned && out != nil {
			fmt.Fprintf(out, "\nServing TLS with the self-signed certificate %s\n    SHA-256 fingerprint: %s\n"+
				"Clients trust it with its file (curl --cacert, or brig login --insecure after comparing the fingerprint).\n\n",
				stls.certFile, stls.fingerprint)
		}
	}
	if cfg.SchedulerToken != "" {
		acfg.SchedulerTokenHash = auth.HashToken(cfg.SchedulerToken)
	}
	if cfg.ObserverToken != "" {
		acfg.ObserverTokenHash = auth.HashToken(cfg.ObserverToken)
	}
	gws, err := buildGateways(&cfg, &acfg, scheme+ln.Addr().String(), stls, log)
	if err != nil {
		ln.Close()
		closeAll()
		return nil, err
	}
	if err := configureLogin(ctx, &acfg, cfg.Login, apiAddr, st); err != nil {
		ln.Close()
		closeAll()
		return nil, err
	}
	svc := api.New(st, sealer, acfg, log)
	pw, err := svc.EnsureRootPassword(ctx, cfg.RootPassword)
	if err != nil {
		ln.Close()
		closeAll()
		return nil, err
	}
	if pw != "" && out != nil {
		fmt.Fprintf(out, "\nGenerated a root password (shown only this once; set --root-password or BRIGADE_ROOT_PASSWORD to choose your own):\n\n    %s\n\n", pw)
	}
	var run *runner.Runner
	var sub core.Substrate
	if cfg.Substrate != "none" {
		if run, sub, err = newRunner(ctx, cfg, svc, st, m, log); err != nil {
			ln.Close()
			closeAll()
			return nil, err
		}
	}
	rec := audit.New(st.Audit(), audit.Options{MaxAge: cfg.AuditMaxAge, MaxEntries: cfg.AuditMaxEntries, Logger: log})
	limiter := loginLimiter(cfg)
	h := httpapi.New(svc, httpapi.Options{
		MaxBodyBytes: cfg.MaxBodyBytes, Version: cfg.Version, Commit: cfg.Commit, Logger: log, Audit: rec,
		LoginLimiter: limiter,
	})
	mux := http.NewServeMux()
	if err := gateway.Mount(mux, gws, false, log); err != nil {
		ln.Close()
		closeAll()
		return nil, err
	}
	mux.Handle("/", h)
	if cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", m.Handler())
	}
	m.WatchQueue(st.Queue())
	// The dashboard takes / and its own pages; the API keeps /v2/... and
	// answers every other path (docs/dashboard.md).
	dash, err := web.New(svc, web.Options{Secure: stls != nil, MaxBodyBytes: cfg.MaxBodyBytes, Logger: log,
		LoginLimiter: limiter, Audit: rec, Version: cfg.Version, ThirdPartyLogin: cfg.Login.providerName()})
	if err != nil {
		ln.Close()
		closeAll()
		return nil, err
	}
	dash.Mount(mux)
	srv := &Server{}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { srv.healthz(w, r) })
	// Requests get a base context that shutdown cancels, so open streams
	// end; mutations are detached from it and finish (see httpapi).
	base, stop := context.WithCancel(context.Background())
	*srv = Server{
		cfg: cfg, log: log, store: st, svc: svc, runner: run, sub: sub, listener: ln, stopReqs: stop, audit: rec, tls: stls != nil,
		unlock: unlock, gateways: gws, metrics: m, metricsSrv: msrv, leadership: leadershipFor(st),
		http: &http.Server{Handler: httpx.DrainBody(httpapi.CleanPath(mux)), ReadHeaderTimeout: 10 * time.Second,
			BaseContext: func(net.Listener) context.Context { return base }, TLSConfig: tlsConfig(stls),
			// Failed TLS handshakes and the like: noise unless debugging.
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)},
	}
	return srv, nil
}

// DeliveryRetention is how long a keyed delivery is remembered (see
// api.Service.CreateEventOnce): a repeat within it creates nothing. GitHub
// lets a delivery be redelivered for a few days, but by hand; its own
// retries, and every other sender's, come within minutes.
const DeliveryRetention = 24 * time.Hour

// sweepExpired deletes expired sessions and deliveries older than
// DeliveryRetention now and then: their rows need not stay.
func (s *Server) sweepExpired(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := s.store.Sessions().DeleteExpired(core.Relaxed(ctx), time.Now()); err != nil && ctx.Err() == nil {
			s.log.Error("deleting expired sessions", "error", err)
		} else if n > 0 {
			s.log.Debug("deleted expired sessions", "count", n)
		}
		if n, err := s.store.Deliveries().DeleteBefore(core.Relaxed(ctx), time.Now().Add(-DeliveryRetention)); err != nil && ctx.Err() == nil {
			s.log.Error("deleting old deliveries", "error", err)
		} else if n > 0 {
			s.log.Debug("deleted old deliveries", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loginLimiter limits failed logins as configured, or not at all.
func loginLimiter(cfg Config) *ratelimit.Limiter {
	if cfg.LoginRate < 0 {
		return nil
	}
	return ratelimit.New(cfg.LoginRate, cfg.LoginBurst, nil)
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the server's base URL: http:// or, with TLS, https:// and Addr.
func (s *Server) URL() string {
	if s.tls {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

func tlsConfig(st *serverTLS) *tls.Config {
	if st == nil {
		return nil
	}
	return st.config
}

// Store is the server's store, for tests and in-process tools that read
// state; changes go through Service.
func (s *Server) Store() core.Store { return s.store }

// Service exposes the API service (for in-process components and tests).
func (s *Server) Service() *api.Service { return s.svc }

// Run serves and runs events until ctx ends, then stops accepting
// requests, lets the ones in flight finish (up to 10 s; streams are cut),
// stops the runner, and closes the substrate and the store. Each part runs
// in one errgroup: if one fails, the others stop too.
func (s *Server) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		serve := s.http.Serve
		if s.tls {
			serve = func(ln net.Listener) error { return s.http.ServeTLS(ln, "", "") }
		}
		if err := serve(s.listener); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving HTTP on %s: %w", s.Addr(), err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		s.log.Info("shutting down")
		s.stopReqs()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.http.Shutdown(sctx); err != nil {
			s.http.Close()
		}
		return nil
	})
	if s.runner != nil {
		g.Go(func() error { return s.runWork(gctx) })
	}
	if s.metricsSrv != nil {
		g.Go(func() error { return s.metricsSrv.serve(gctx) })
	}
	g.Go(func() error { s.audit.Run(gctx); return nil })
	g.Go(func() error { s.sweepExpired(gctx); return nil })
	for _, gw := range s.gateways {
		g.Go(func() error {
			if err := gw.Run(gctx); err != nil && gctx.Err() == nil {
				return fmt.Errorf("gateway %s: %w", gw.Name(), err)
			}
			return nil
		})
	}
	s.log.Info("brigade server listening", "addr", s.URL(), "dataDir", s.cfg.DataDir, "role", s.cfg.Role)
	if s.metricsSrv != nil {
		s.log.Info("serving /metrics", "addr", "http://"+s.MetricsAddr()+"/metrics")
	}
	err := g.Wait()
	s.stopReqs()
	s.audit.Close() // the requests are over: store what they left
	if s.sub != nil {
		closeSubstrate(s.sub, s.log)
	}
	if cerr := s.store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	s.unlock()
	return err
}
