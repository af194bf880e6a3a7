package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

type eventLogsOptions struct {
	app *app
	streams
	event      idArg
	job        string
	container  string
	follow     bool
	timestamps bool
}

func newEventLogsCommand(a *app) *cobra.Command {
	o := &eventLogsOptions{app: a, event: idArg{noun: "event"}}
	cmd := &cobra.Command{
		Use:     "logs ID [-j JOB] [-f]",
		Aliases: []string{"log"},
		Short:   "Show the logs of an event's worker or of one of its jobs",
		Long: "Show the log of an event's worker, or with -j, of one of its jobs (-c picks a sidecar, or vcs\n" +
			"for the source checkout). With -f and no -j, follow the worker and every job as they run, each\n" +
			"line prefixed with its job's name, then show how each job ended; the exit code is 0 only if\n" +
			"the worker succeeded. The server waits while a worker or job is still starting.",
		Example: "  brig event logs EVENT_ID -f\n  brig event logs EVENT_ID -j build --timestamps",
		Args:    cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.event.bind(args)
		}, runEventLogs),
	}
	o.event.register(a, cmd)
	f := cmd.Flags()
	f.StringVarP(&o.job, "job", "j", "", "the job whose log to show (default: the worker's)")
	f.StringVarP(&o.container, "container", "c", "", "the container (default: the primary one)")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep showing lines as they are written, until the worker (or job) ends")
	f.BoolVar(&o.timestamps, "timestamps", false, "start each line with the time it was written")
	return cmd
}

func (o *eventLogsOptions) Validate() error {
	return o.event.Validate()
}

func runEventLogs(ctx context.Context, o *eventLogsOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	if o.follow && o.job == "" && o.container == "" {
		return o.app.followToEnd(ctx, c, o.streams, o.event.id, followSettings{timestamps: o.timestamps})
	}
	opts := client.LogOptions{Job: o.job, Container: o.container, Follow: o.follow}
	return printLogs(ctx, c, o.out, o.event.id, opts, o.timestamps)
}

// printLogs writes each log line of one stream to w.
func printLogs(ctx context.Context, c *client.Client, w io.Writer, eventID string, opts client.LogOptions, timestamps bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	entries, errs := c.Logs(ctx, eventID, opts)
	for e := range entries {
		if _, err := fmt.Fprintln(w, logLine(e, timestamps)); err != nil {
			cancel() // stop the stream, then let it wind down
			for range entries {
			}
			return fmt.Errorf("writing logs: %w", err)
		}
	}
	return <-errs
}

func logLine(e core.LogEntry, timestamps bool) string {
	if timestamps {
		return timestamp(e.Time) + " " + e.Message
	}
	return e.Message
}
