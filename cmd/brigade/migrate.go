package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/store/postgres"
	"github.com/brigadeplatform/brigade/internal/store/sqlite"
)

func newMigrateCmd() *cobra.Command {
	var (
		dataDir, database, logLevel string
	)
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database's schema up to date, then exit",
		Long: `Bring the database's schema up to date, then exit. A server does the same
when it starts (replicas on one PostgreSQL database take turns on an advisory
lock, so they can start together); run this first to migrate at a time of
your choosing, e.g. before rolling out a new release.

Every flag can also be set with an environment variable: BRIGADE_ followed by
the flag's name in upper case with dashes as underscores.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := commandLogger(cmd, &logLevel)
			if err != nil {
				return err
			}
			if postgres.IsURL(database) {
				if err := postgres.Migrate(cmd.Context(), database, log); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "the PostgreSQL database's schema is up to date")
				return nil
			}
			db := database
			if db == "" {
				db = filepath.Join(dataDir, "brigade.db")
			}
			st, err := sqlite.Open(cmd.Context(), db, log)
			if err != nil {
				return fmt.Errorf("migrating %s: %w", db, err)
			}
			if err := st.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "the SQLite database %s's schema is up to date\n", db)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", server.DefaultDataDir(), "the server's data dir (for its SQLite file)")
	f.StringVar(&database, "database", "", "the server's database: postgres://user:password@host:5432/db, "+
		"or a SQLite file (default: brigade.db in the data dir)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
