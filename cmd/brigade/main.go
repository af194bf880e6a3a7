// Command brigade runs the platform: `brigade server` serves the API and
// runs events (the runner and a substrate) on one machine.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/brigadeplatform/brigade/internal/profiling"
	"github.com/brigadeplatform/brigade/internal/quickstart"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/substrate/local"
	"github.com/brigadeplatform/brigade/internal/workermain"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "v0.1.0-dev"
	commit  = "unknown"
)

func main() {
	// The local substrate re-executes this binary to set up a job's mount
	// namespace; that must happen before anything else.
	local.MaybeRunMountHelper()
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "brigade:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "brigade",
		Short:         "Event-driven scripting: the Brigade API, scheduler and workers in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServerCmd(), newGatewayCmd(), newWorkerCmd(), newQuickstartCmd(), newSecretsCmd(), newMigrateCmd(), newGitInitCmd(), &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "brigade %s (commit %s)\n", version, commit)
		},
	})
	return root
}

func newServerCmd() *cobra.Command {
	cfg := server.Config{Version: version, Commit: commit}
	var (
		logLevel string
		standbys int
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the API server (on the embedded SQLite store, or PostgreSQL)",
		Long: `Run the API server, on the embedded SQLite store unless --database names a
PostgreSQL database (docs/postgres.md).

Every flag can also be set with an environment variable: BRIGADE_ followed by
the flag's name in upper case with dashes as underscores (--data-dir is
BRIGADE_DATA_DIR). Flags win over the environment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := commandLogger(cmd, &logLevel)
			if err != nil {
				return err
			}
			if cfg.StandbyWorkers = standbys; standbys <= 0 {
				cfg.StandbyWorkers = -1
			}
			defer profiling.Start("server")()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := server.New(ctx, cfg, log, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			return srv.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", server.DefaultAddr, "address to listen on (host:port)")
	f.StringVar(&cfg.DataDir, "data-dir", server.DefaultDataDir(), "folder for the database, secrets key and per-event folders (created if missing)")
	f.StringVar(&cfg.Database, "database", "", "database to use: empty for the SQLite file in the data dir, a file path, "+
		"or postgres://user:password@host:5432/db (several replicas on one database; docs/postgres.md)")
	f.StringVar(&cfg.Role, "role", server.RoleAll, "what this process does: all (API and scheduler), api (serves the API only) "+
		"or scheduler (runs the work; with several, one is active and the others stand by); api and scheduler need a "+
		"PostgreSQL --database (docs/postgres.md)")
	f.StringVar(&cfg.RootPassword, "root-password", "", "root user's password; if absent on first start one is generated and printed once")
	f.StringVar(&cfg.SecretsKey, "secrets-key", "", "64 hex characters: the AES-256 key that seals project secrets (default: secrets.key in the data dir, created if missing)")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", 4<<20, "largest request body accepted; larger ones get 413")
	f.DurationVar(&cfg.RootSessionTTL, "root-session-ttl", 0, "how long a root login lasts (default 1h)")
	f.StringVar(&cfg.SchedulerToken, "scheduler-token", "", "static bearer token for an external scheduler (optional)")
	f.StringVar(&cfg.ObserverToken, "observer-token", "", "static bearer token for an external observer (optional)")
	f.StringVar(&cfg.APIAddress, "api-address", "", "address workers use to reach the API (default: the listen address)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) file; needs --tls-key")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "the PEM private key of --tls-cert")
	f.BoolVar(&cfg.TLSSelfSigned, "tls-self-signed", false, "serve HTTPS with a self-signed certificate for localhost and 127.0.0.1, "+
		"made on first start and kept in the data dir (tls.crt, tls.key); its fingerprint is printed (for development)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&cfg.Substrate, "substrate", "local", "where workers and jobs run: local (host processes), docker (jobs in containers "+
		"through the Docker Engine API, workers as host processes; see docs/docker.md), kubernetes (jobs as pods) or none (serve the API only)")
	f.StringVar(&cfg.Kube.Kubeconfig, "kubeconfig", "", "with --substrate kubernetes: the cluster's kubeconfig file "+
		"(default: the in-cluster configuration, else $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&cfg.Kube.Workers, "kube-workers", server.KubeWorkersHost, "with --substrate kubernetes: where workers run: "+
		"host (processes of this server, bursting only jobs onto the cluster) or pod (pods of --kube-image)")
	f.StringVar(&cfg.Kube.Image, "kube-image", "", "with --substrate kubernetes: our own image, for git-init containers and worker pods")
	f.StringVar(&cfg.Kube.NamespacePrefix, "kube-namespace-prefix", "", "with --substrate kubernetes: what comes before the project id "+
		"in namespace names (default brigade-)")
	f.StringVar(&cfg.Kube.StorageClass, "kube-storage-class", "", "with --substrate kubernetes: storage class of workspace claims "+
		"(default: the cluster's default class)")
	f.StringVar(&cfg.DockerHost, "docker-host", "", "with --substrate docker: the Docker daemon's address, e.g. unix:///var/run/docker.sock "+
		"or tcp://127.0.0.1:2375 (default: $DOCKER_HOST, else unix:///var/run/docker.sock)")
	f.StringVar(&cfg.DockerNetwork, "docker-network", "", "with --substrate docker: network mode of job containers: bridge, host, none "+
		"or a network's name (default: the daemon's default network); sidecars share their job's")
	f.IntVar(&cfg.MaxWorkers, "max-workers", 8, "workers running at once")
	f.IntVar(&standbys, "standby-workers", server.DefaultStandbyWorkers,
		"worker processes kept started ahead of events, so that scripts start at once (0: none)")
	f.IntVar(&cfg.MaxJobs, "max-jobs", 32, "jobs running at once")
	f.IntVar(&cfg.MaxWorkersPerProject, "max-workers-per-project", 0, "workers of one project running at once (0: no limit)")
	f.Float64Var(&cfg.LoginRate, "login-rate", server.DefaultLoginRate, "failed logins allowed per client address a minute, after --login-burst at once (negative: no limit); beyond it, 429")
	f.IntVar(&cfg.LoginBurst, "login-burst", server.DefaultLoginBurst, "failed logins a client address may make at once")
	f.DurationVar(&cfg.AuditMaxAge, "audit-max-age", 0, "audit log entries older than this are pruned (default 2160h, 90 days; negative: keep all)")
	f.IntVar(&cfg.AuditMaxEntries, "audit-max-entries", 0, "the audit log keeps at most this many entries, the newest (default 1000000; negative: no limit)")
	f.DurationVar(&cfg.CleanupDelay, "cleanup-delay", time.Minute, "how long a finished event's folders and leftover processes are kept")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "where Prometheus /metrics is served: empty on --addr (no authentication), "+
		"host:port on a listener of its own instead (e.g. 127.0.0.1:9745), or none (off); see docs/metrics.md")
	loginFlags(f, &cfg.Login)
	cfg.Gateways.Flags(f)
	return cmd
}

func newQuickstartCmd() *cobra.Command {
	opts := quickstart.Options{Version: version, Commit: commit}
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Start the platform, run the example project's event and stream its logs",
		Long: `Start the platform on the embedded default (SQLite and the local substrate) in a
fresh data dir, create the example project examples/quickstart, send it an
event, and stream the logs of its worker and jobs as they run. Exits 0 when the
event succeeds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return quickstart.Run(ctx, cmd.OutOrStdout(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data-dir", "", "keep the data here instead of in a temporary folder")
	cmd.Flags().StringVar(&opts.Example, "example", "quickstart", "which examples/<name>/project.yaml to run")
	return cmd
}

func newWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "worker",
		Short:  "Run one event's script (started by the substrate, not by hand)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			os.Exit(workermain.Main(cmd.OutOrStdout(), cmd.ErrOrStderr(), version))
			return nil
		},
	}
}

// loginFlags are the flags of third-party login for people.
func loginFlags(f *pflag.FlagSet, c *server.LoginConfig) {
	f.StringVar(&c.OIDCIssuerURL, "oidc-issuer-url", "", "log people in with this OpenID Connect provider (its issuer URL)")
	f.StringVar(&c.OIDCClientID, "oidc-client-id", "", "the client id this server has with the OpenID Connect provider")
	f.StringVar(&c.OIDCClientSecret, "oidc-client-secret", "", "the client secret this server has with the OpenID Connect provider")
	f.StringVar(&c.RedirectURLBase, "oidc-redirect-url-base", "", "this server's address as browsers reach it; the provider "+
		"sends them back to <base>/v2/session/auth, which must be registered with it (default: --api-address)")
	f.StringVar(&c.GitHubClientID, "github-client-id", "", "log people in with GitHub: the OAuth app's client id")
	f.StringVar(&c.GitHubClientSecret, "github-client-secret", "", "the GitHub OAuth app's client secret")
	f.StringSliceVar(&c.GitHubAllowedOrgs, "github-allowed-orgs", nil, "admit only members of these GitHub organisations (comma-separated)")
	f.StringVar(&c.GitHubURL, "github-url", "", "GitHub Enterprise's address (default https://github.com)")
	f.StringVar(&c.GitHubAPIURL, "github-api-url", "", "GitHub Enterprise's API address (default https://api.github.com)")
	f.DurationVar(&c.UserSessionTTL, "user-session-ttl", 0, "how long a person's third-party login lasts (default 1h)")
	f.BoolVar(&c.GrantReaderOnFirstLogin, "grant-reader-on-first-login", false, "give every new user the READER role")
	f.StringSliceVar(&c.AdminUserIDs, "admin-user-ids", nil, "users (e-mail addresses or GitHub logins, comma-separated) "+
		"who get ADMIN, PROJECT_CREATOR and READER on their first login")
}

// commandLogger applies the environment to cmd's flags, then makes the
// logger *level (its --log-level, which the environment may set) asks
// for: what every command that logs does first.
func commandLogger(cmd *cobra.Command, level *string) (*slog.Logger, error) {
	if err := applyEnv(cmd.Flags()); err != nil {
		return nil, err
	}
	return newLogger(*level)
}

// applyEnv sets every flag the command line left alone from BRIGADE_<NAME>.
func applyEnv(fs *pflag.FlagSet) error {
	var firstErr error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || firstErr != nil {
			return
		}
		name := "BRIGADE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := fs.Set(f.Name, v); err != nil {
				firstErr = fmt.Errorf("environment variable %s=%q: %w", name, v, err)
			}
		}
	})
	return firstErr
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
