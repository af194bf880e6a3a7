package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/core"
)

// execOptions are Brigade v1's `brig run` flags, where they make sense.
type execOptions struct {
	app *app
	streams
	project     string
	projectFlag string
	file        string // the local script
	config      string // a local brigade.json
	source      string
	typ         string
	payload     string
	payloadFile string
	commit      string
	ref         string
	level       string
	background  bool

	minLevel string // worker lines less severe are hidden; "": none
}

func newExecCommand(a *app) *cobra.Command {
	o := &execOptions{app: a}
	cmd := &cobra.Command{
		Use:     "exec PROJECT [-f brigade.js] | exec -p PROJECT [-f brigade.js]",
		Aliases: []string{"run"},
		Short:   "Run a local script as a project's worker and follow it",
		Long: "Send an event to a project and follow its worker and jobs until the worker ends; exit 0 only if\n" +
			"it SUCCEEDED.\n\n" +
			"With -f, the worker runs that local script (as brigade.ts if the file ends in .ts, else as\n" +
			"brigade.js) instead of the project's, for this event only; -c adds a local brigade.json. This\n" +
			"needs the PROJECT_DEVELOPER role on the project. Without -f, the project's own script runs.\n\n" +
			"The project must subscribe to the event's source and type (by default " + defaultEventSource + " and\n" +
			defaultEventType + "). Brigade v1's `brig run -p FILE` is `--payload-file FILE` here: -p names the project,\n" +
			"as in `brig event create`.",
		Example: "  brig exec demo -f brigade.js\n" +
			"  brig exec demo -f brigade.ts -e push --payload-file push.json\n" +
			"  brig run demo -f brigade.js --background",
		Args: cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			if len(args) == 1 {
				o.project = args[0]
			}
		}, runExec),
		ValidArgsFunction: a.completeIDs("project"),
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "a local script to run instead of the project's (brigade.js or brigade.ts)")
	f.StringVarP(&o.config, "config", "c", "", "a local brigade.json to go with the script")
	f.StringVarP(&o.source, "source", "s", defaultEventSource, "the event's source")
	f.StringVarP(&o.typ, "event", "e", defaultEventType, "the event's type")
	f.StringVarP(&o.projectFlag, "project", "p", "", "the project (instead of the argument)")
	f.StringVar(&o.payload, "payload", "", "the event's payload")
	f.StringVar(&o.payloadFile, "payload-file", "", "a file holding the event's payload (- for standard input)")
	f.StringVarP(&o.commit, "commit", "m", "", "a git commit for the worker's checkout (projects with git only)")
	f.StringVarP(&o.ref, "ref", "r", "", "a git branch, tag or ref for the worker's checkout (projects with git only)")
	f.StringVarP(&o.level, "level", "l", "all", "hide the worker's lines below this level: all, debug, info, warn or error")
	f.BoolVarP(&o.background, "background", "b", false, "send the event and exit without following it")
	return cmd
}

func (o *execOptions) Validate() error {
	switch {
	case o.project == "" && o.projectFlag == "":
		return errors.New("which project? brig exec PROJECT -f brigade.js (`brig project list` shows them)")
	case o.project != "" && o.projectFlag != "" && o.project != o.projectFlag:
		return fmt.Errorf("the argument and -p (--project) name different projects (%q and %q): give one", o.project, o.projectFlag)
	case o.project == "":
		o.project = o.projectFlag
	}
	if o.payload != "" && o.payloadFile != "" {
		return errors.New("--payload and --payload-file cannot be used together: pick one")
	}
	if o.config != "" && o.file == "" {
		return errors.New("--config needs --file: brig exec PROJECT -f brigade.js -c brigade.json")
	}
	n := 0
	for _, f := range []string{o.file, o.config, o.payloadFile} {
		if f == "-" {
			n++
		}
	}
	if n > 1 {
		return errors.New("only one of --file, --config and --payload-file can read standard input (-)")
	}
	switch l := strings.ToUpper(o.level); l {
	case "ALL", "LOG": // v1's "log" showed everything
		o.minLevel = ""
	default:
		if _, ok := levelRank[l]; !ok {
			return fmt.Errorf("--level %q is not a level: use all, debug, info, warn or error", o.level)
		}
		o.minLevel = l
	}
	return nil
}

func runExec(ctx context.Context, o *execOptions) error {
	ev := &core.Event{ProjectID: o.project, Source: o.source, Type: o.typ, Payload: o.payload}
	if o.payloadFile != "" {
		b, err := readInput(o.payloadFile, o.in)
		if err != nil {
			return err
		}
		ev.Payload = string(b)
	}
	if o.commit != "" || o.ref != "" {
		ev.Git = &core.GitDetails{Commit: o.commit, Ref: o.ref}
	}
	if o.file != "" {
		script, err := readInput(o.file, o.in)
		if err != nil {
			return err
		}
		ev.ConfigFiles = map[string]string{scriptName(o.file): string(script)}
		if o.config != "" {
			cfg, err := readInput(o.config, o.in)
			if err != nil {
				return err
			}
			ev.ConfigFiles["brigade.json"] = string(cfg)
		}
	}
	c, err := o.app.client()
	if err != nil {
		return err
	}
	events, err := c.CreateEvent(ctx, ev)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return fmt.Errorf("no event was created: project %q does not subscribe to source %q and type %q; "+
			"add a matching entry to its spec.eventSubscriptions, or pick another with -s/--source and -e/--event",
			o.project, o.source, o.typ)
	}
	id := events[0].Metadata.ID
	fmt.Fprintf(o.out, "Created event %q.\n", id)
	if o.background {
		fmt.Fprintf(o.out, "Follow it with `brig event logs %s --follow`; see how it ended with `brig event get %s`.\n", id, id)
		return nil
	}
	return o.app.followToEnd(ctx, c, o.streams, id, followSettings{level: o.minLevel})
}
