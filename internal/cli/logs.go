package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
)

type eventLogsOptions struct {
	app *app
	streams
	id        string
	job       string
	container string
	follow    bool
}

func newEventLogsCommand(a *app) *cobra.Command {
	o := &eventLogsOptions{app: a}
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Show the logs of an event's worker or of one of its jobs",
		Long: "Show the logs of an event's worker, or with --job, of one of its jobs. --container picks a\n" +
			"sidecar (or vcs for the source checkout). The server waits while the worker or job is\n" +
			"still starting.",
		Args: cobra.ExactArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.id = args[0]
		}, runEventLogs),
	}
	f := cmd.Flags()
	f.StringVarP(&o.job, "job", "j", "", "the job whose logs to show (default: the worker's)")
	f.StringVarP(&o.container, "container", "c", "", "the container (default: the primary one)")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep streaming until the container ends")
	return cmd
}

func (o *eventLogsOptions) Validate() error { return nil }

func runEventLogs(ctx context.Context, o *eventLogsOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	return printLogs(ctx, c, o.out, o.id, client.LogOptions{Job: o.job, Container: o.container, Follow: o.follow})
}

// printLogs writes each log line's message to w.
func printLogs(ctx context.Context, c *client.Client, w io.Writer, eventID string, opts client.LogOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	entries, errs := c.Logs(ctx, eventID, opts)
	for e := range entries {
		if _, err := fmt.Fprintln(w, e.Message); err != nil {
			cancel() // stop the stream, then let it wind down
			for range entries {
			}
			return fmt.Errorf("writing logs: %w", err)
		}
	}
	return <-errs
}
