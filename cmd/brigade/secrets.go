package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/secretskey"
	"github.com/brigadeplatform/brigade/internal/server"
)

func newSecretsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Manage the key that seals project secrets at rest",
	}
	var (
		opts     secretskey.RotateOptions
		logLevel string
	)
	rotate := &cobra.Command{
		Use:   "rotate-key",
		Short: "Reseal every secret with a new key (stop the server first)",
		Long: `Reseal every project secret and job environment with a new key, in one
transaction, then put the new key in place of the data dir's secrets.key
(written beside it first and renamed, so a crash at any point leaves a
store the next start or rotation completes). The server must be stopped:
the command refuses to run while a server holds the data dir.

Without --secrets-key, the current key is the data dir's secrets.key and
the new one (--new-key, or a generated one) replaces it. A server started
with --secrets-key keeps its key elsewhere: give the current key with
--secrets-key and the new one with --new-key, then start the server with
--secrets-key set to the new key.

Every flag can also be set with an environment variable: BRIGADE_ followed by
the flag's name in upper case with dashes as underscores.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := commandLogger(cmd, &logLevel)
			if err != nil {
				return err
			}
			id, n, err := secretskey.Rotate(cmd.Context(), opts, log)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "resealed %d values with the new secrets key (id %s)\n", n, id)
			return nil
		},
	}
	f := rotate.Flags()
	f.StringVar(&opts.DataDir, "data-dir", server.DefaultDataDir(), "the server's data dir")
	f.StringVar(&opts.Database, "database", "", "the server's database, if not the SQLite file in the data dir")
	f.StringVar(&opts.OldKey, "secrets-key", "", "the current key (64 hex characters), for a server started with --secrets-key; "+
		"default: secrets.key in the data dir")
	f.StringVar(&opts.NewKey, "new-key", "", "the new key (64 hex characters; generate one with `openssl rand -hex 32`); "+
		"default: a generated one, written to secrets.key")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	cmd.AddCommand(rotate)
	return cmd
}
