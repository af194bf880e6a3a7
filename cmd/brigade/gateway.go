package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/gateway"
	"github.com/brigadeplatform/brigade/internal/gateway/gateways"
)

// newGatewayCmd is `brigade gateway NAME`: one built-in gateway alone,
// talking to a remote API with a service account's token
// (docs/gateways.md).
func newGatewayCmd() *cobra.Command {
	var (
		cfg      gateways.Config
		serve    gateway.ServeConfig
		apiAddr  string
		apiToken string
		apiCA    string
		insecure bool
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "gateway NAME",
		Short: "Run one built-in gateway alone, against a remote API",
		Long: `Run one built-in gateway alone: it listens on --addr (GET /healthz answers
"ok") and creates events through the API at --api-address with --api-token, a
service account's token holding EVENT_CREATOR for the gateway's source (and
READER). See docs/gateways.md.

Every flag can also be set with an environment variable: BRIGADE_ followed by
the flag's name in upper case with dashes as underscores (--api-token is
BRIGADE_API_TOKEN). Flags win over the environment.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			if apiAddr == "" || apiToken == "" {
				return errors.New("--api-address and --api-token are required: the API to create events with, and a service account's token")
			}
			opts := []client.Option{client.WithInsecureTLS(insecure)}
			if apiCA != "" {
				pem, err := os.ReadFile(apiCA)
				if err != nil {
					return fmt.Errorf("--api-ca-cert: %w", err)
				}
				opts = append(opts, client.WithServerCert(pem))
			}
			gws, err := cfg.Build(args[0], func(name, _ string) gateway.Env {
				return gateway.Env{API: client.New(apiAddr, apiToken, append(opts, client.WithUserAgent("brigade-gateway/"+name))...),
					Log: log.With("gateway", name)}
			})
			if err != nil {
				return err
			}
			if len(gws) == 0 {
				return fmt.Errorf("gateway %s has nothing to do with this configuration (the cron gateway needs --cron-file; see brigade gateway --help)", args[0])
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return gateway.Serve(ctx, serve, gws, log, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&serve.Addr, "addr", ":8080", "address to listen on (host:port)")
	f.StringVar(&serve.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) file; needs --tls-key")
	f.StringVar(&serve.TLSKey, "tls-key", "", "the PEM private key of --tls-cert")
	f.StringVar(&apiAddr, "api-address", "", "the Brigade API's address, e.g. https://brigade.example.com")
	f.StringVar(&apiToken, "api-token", "", "a service account's token: EVENT_CREATOR for the gateway's source, and READER")
	f.StringVar(&apiCA, "api-ca-cert", "", "trust the API's certificate from this PEM file (a self-signed one)")
	f.BoolVar(&insecure, "api-insecure", false, "do not verify the API's TLS certificate (testing only)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cfg.Flags(f)
	return cmd
}
