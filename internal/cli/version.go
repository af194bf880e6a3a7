package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

type versionOptions struct {
	app *app
	streams
}

func newVersionCommand(a *app) *cobra.Command {
	o := &versionOptions{app: a}
	return &cobra.Command{
		Use:   "version",
		Short: "Show the version of brig and of the server it is logged in to",
		Args:  cobra.NoArgs,
		RunE:  runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runVersion),
	}
}

func (o *versionOptions) Validate() error { return nil }

func runVersion(ctx context.Context, o *versionOptions) error {
	fmt.Fprintf(o.out, "Client version: %s -- commit %s\n", o.app.env.Version, orDash(o.app.env.Commit))
	cfg, err := o.app.settings(false)
	if err != nil {
		return nil // not logged in: the client's version is all there is
	}
	p, err := o.app.newClient(cfg).Ping(ctx)
	if err != nil {
		fmt.Fprintf(o.errOut, "Server %s: %v\n", cfg.Server, err)
		return nil
	}
	fmt.Fprintf(o.out, "Server version: %s -- commit %s\n", p.Version, orDash(p.Commit))
	return nil
}
