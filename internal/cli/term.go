package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/tui"
)

type termOptions struct {
	app *app
	streams
	project string
	event   string // --id
	arg     string // the event ID given as the argument
}

func newTermCommand(a *app) *cobra.Command {
	o := &termOptions{app: a}
	cmd := &cobra.Command{
		Use:   "term [EVENT_ID]",
		Short: "Browse projects, events, job timelines and logs in a terminal UI",
		Long: "Browse the server in a terminal UI: projects, then a project's events, then an event's jobs as a\n" +
			"timeline (one bar per job on a shared time axis, coloured by phase, moving while the event runs),\n" +
			"then a job's or the worker's log, following it. Keys: enter opens, esc goes back, c cancels the\n" +
			"event (after asking), r retries it, R refreshes, ? shows every key, q quits.\n\n" +
			"With -p it opens on a project's events; with an event ID (or -i) on that event's timeline.\n" +
			"Colours follow the phases unless NO_COLOR is set.",
		Example: "  brig term\n  brig term -p hello-world\n  brig term 01a235b8-a1ed-78c3-be55-148f19e2348e",
		Args:    cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			if len(args) == 1 {
				o.arg = args[0]
			}
		}, runTerm),
	}
	f := cmd.Flags()
	f.StringVarP(&o.project, "project", "p", "", "open on this project's events")
	f.StringVarP(&o.event, "id", "i", "", "open on this event's timeline (or give the ID as the argument)")
	return cmd
}

func (o *termOptions) Validate() error {
	if o.arg != "" {
		if o.event != "" && o.event != o.arg {
			return errors.New("give the event ID once: as the argument or with --id, not two different ones")
		}
		o.event = o.arg
	}
	if o.event != "" && o.project != "" {
		return errors.New("give --project or an event ID, not both: an event's timeline already shows its project")
	}
	return nil
}

func runTerm(ctx context.Context, o *termOptions) error {
	if !isTerminal(o.in) || !isTerminal(o.out) {
		return errors.New("brig term needs a terminal for its input and output: run it in one, " +
			"or use `brig event list` and `brig event logs` in scripts")
	}
	c, err := o.app.client()
	if err != nil {
		return err
	}
	getenv := o.app.env.Getenv
	return tui.Run(ctx, tui.Options{
		API: c, In: o.in, Out: o.out,
		Color:   getenv("NO_COLOR") == "" && getenv("TERM") != "dumb",
		Project: o.project, Event: o.event, Now: o.app.env.Now,
	})
}
