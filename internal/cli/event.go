package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

func newEventCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "event",
		Aliases: []string{"events"},
		Short:   "Create, inspect and follow events",
	}
	cmd.AddCommand(
		newEventCreateCommand(a),
		newGetCommand(a, "Show an event: its worker and jobs, with phases and durations", "Event",
			func(ctx context.Context, c *client.Client, id string) (any, error) { return c.GetEvent(ctx, id) },
			eventSummary),
		newEventListCommand(a),
		newEventLogsCommand(a),
		newEventActionCommand(a, "cancel", "Cancel a pending event, or abort a running one (it is kept)", "",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("Canceled event %q.\n", id), c.CancelEvent(ctx, id)
			}),
		newEventActionCommand(a, "delete", "Delete an event with its jobs and logs (a running one is aborted first)",
			"Delete event %q with its jobs and logs?",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("Deleted event %q.\n", id), c.DeleteEvent(ctx, id)
			}),
		newEventRecreateCommand(a, "clone", "Create a new event just like an existing one (with a label brigade.sh/cloneOf)",
			(*client.Client).CloneEvent),
		newEventRecreateCommand(a, "retry", "Create a new event like a finished one, whose worker skips the jobs that succeeded",
			(*client.Client).RetryEvent),
		newEventManyCommand(a, true),
		newEventManyCommand(a, false),
	)
	return cmd
}

// newEventActionCommand is a command that does one thing to one event.
func newEventActionCommand(a *app, name, short, confirm string, act func(context.Context, *client.Client, string) (string, error)) *cobra.Command {
	cmd := newIDCommand(a, "event", name, short, confirm, act)
	if confirm == "" {
		// Brigade's brig asks before it cancels; ours does not, but takes
		// the flag that skips the question so scripts written for it work.
		cmd.Flags().BoolP("yes", "y", false, "accepted for Brigade's brig; brig does not ask first")
	}
	cmd.Example = fmt.Sprintf("  brig event %s EVENT_ID\n  brig event %s -i EVENT_ID", name, name)
	return cmd
}

// Defaults of brig event create, as Brigade's.
const (
	defaultEventSource = "brigade.sh/cli"
	defaultEventType   = "exec"
)

type eventCreateOptions struct {
	app *app
	streams
	project     string
	source      string
	typ         string
	payload     string
	payloadFile string
	labels      []string
	qualifiers  []string
	follow      bool

	labelMap     map[string]string
	qualifierMap map[string]string
}

func newEventCreateCommand(a *app) *cobra.Command {
	o := &eventCreateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "create -p PROJECT",
		Short: "Create an event for a project",
		Long: "Create an event for a project. The project must subscribe to the event's source and type\n" +
			"(by default " + defaultEventSource + " and " + defaultEventType + "). With --follow, show the worker's and every job's\n" +
			"log lines as they come, then how each job ended; exit non-zero unless the worker succeeds.",
		Example: "  brig event create -p demo --payload '{\"branch\":\"main\"}' --follow\n" +
			"  brig event create -p demo -s github.com/my/gateway -t push --payload-file push.json",
		Args: cobra.NoArgs,
		RunE: runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runEventCreate),
	}
	f := cmd.Flags()
	f.StringVarP(&o.project, "project", "p", "", "the project to create the event for (required)")
	f.StringVarP(&o.source, "source", "s", defaultEventSource, "the event's source")
	f.StringVarP(&o.typ, "type", "t", defaultEventType, "the event's type")
	f.StringVar(&o.payload, "payload", "", "the event's payload")
	f.StringVar(&o.payloadFile, "payload-file", "", "a file holding the event's payload (- for standard input)")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "a label key=value (repeatable)")
	f.StringArrayVarP(&o.qualifiers, "qualifier", "q", nil, "a qualifier key=value (repeatable)")
	f.BoolVarP(&o.follow, "follow", "f", false, "show the worker's and jobs' logs until the worker ends")
	a.completeFlag(cmd, "project", "project")
	return cmd
}

func (o *eventCreateOptions) Validate() error {
	if o.project == "" {
		return errors.New("--project is required: brig event create -p PROJECT (`brig project list` shows them)")
	}
	if o.payload != "" && o.payloadFile != "" {
		return errors.New("--payload and --payload-file cannot be used together: pick one")
	}
	var err error
	if o.labelMap, err = keyValues("--label", o.labels); err != nil {
		return err
	}
	o.qualifierMap, err = keyValues("--qualifier", o.qualifiers)
	return err
}

// keyValues parses key=value flags.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q is not key=value", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

func runEventCreate(ctx context.Context, o *eventCreateOptions) error {
	payload := o.payload
	if o.payloadFile != "" {
		b, err := readInput(o.payloadFile, o.in)
		if err != nil {
			return err
		}
		payload = string(b)
	}
	c, err := o.app.client()
	if err != nil {
		return err
	}
	events, err := c.CreateEvent(ctx, &core.Event{
		ProjectID: o.project, Source: o.source, Type: o.typ,
		Labels: o.labelMap, Qualifiers: o.qualifierMap, Payload: payload,
	})
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return fmt.Errorf("no event was created: project %q does not subscribe to source %q and type %q "+
			"(with these qualifiers and labels); add a matching entry to its spec.eventSubscriptions",
			o.project, o.source, o.typ)
	}
	for _, e := range events {
		fmt.Fprintf(o.out, "Created event %q.\n", e.Metadata.ID)
	}
	if !o.follow {
		return nil
	}
	fmt.Fprintln(o.out)
	return o.app.followToEnd(ctx, c, o.streams, events[0].Metadata.ID, followSettings{})
}

// eventRecreateOptions serve clone and retry: a new event from an old one.
type eventRecreateOptions struct {
	app *app
	streams
	target idArg
	follow bool
	verb   string
	make   func(*client.Client, context.Context, string) (*core.Event, error)
}

func newEventRecreateCommand(a *app, verb, short string, make func(*client.Client, context.Context, string) (*core.Event, error)) *cobra.Command {
	o := &eventRecreateOptions{app: a, verb: verb, make: make, target: idArg{noun: "event"}}
	cmd := &cobra.Command{
		Use:     verb + " ID | " + verb + " -i ID",
		Short:   short,
		Example: fmt.Sprintf("  brig event %s EVENT_ID --follow", verb),
		Args:    cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.target.bind(args)
		}, runEventRecreate),
	}
	o.target.register(a, cmd)
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "show the new event's logs until its worker ends")
	return cmd
}

func (o *eventRecreateOptions) Validate() error { return o.target.Validate() }

func runEventRecreate(ctx context.Context, o *eventRecreateOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	e, err := o.make(c, ctx, o.target.id)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "Created event %q.\n", e.Metadata.ID)
	if !o.follow {
		return nil
	}
	fmt.Fprintln(o.out)
	return o.app.followToEnd(ctx, c, o.streams, e.Metadata.ID, followSettings{})
}

// phaseFlags are Brigade's flags that pick events by their worker's phase.
type phaseFlags struct {
	set         map[core.WorkerPhase]*bool
	terminal    bool
	nonTerminal bool
	any         bool
}

func addPhaseFlags(cmd *cobra.Command, verb string, withAny bool) *phaseFlags {
	p := &phaseFlags{set: map[core.WorkerPhase]*bool{}}
	f := cmd.Flags()
	for _, ph := range core.AllPhases {
		name := strings.ReplaceAll(strings.ToLower(string(ph)), "_", "-")
		if ph == core.PhaseTimedOut {
			name = "timedout" // Brigade's spelling
		}
		if ph == core.PhaseSchedulingFailed {
			name = "scheduling-failed"
		}
		p.set[ph] = f.Bool(name, false, fmt.Sprintf("%s events whose worker is %s", verb, ph))
	}
	f.BoolVar(&p.terminal, "terminal", false, verb+" events whose worker has ended (in any terminal phase)")
	f.BoolVar(&p.nonTerminal, "non-terminal", false, verb+" events whose worker has not ended")
	if withAny {
		f.BoolVar(&p.any, "any-phase", false, verb+" events in any phase")
	}
	return p
}

// phases are the phases picked, in core.AllPhases order; none: no flag.
func (p *phaseFlags) phases() []core.WorkerPhase {
	var out []core.WorkerPhase
	for _, ph := range core.AllPhases {
		pick := *p.set[ph] || p.any
		if p.terminal && ph.IsTerminal() || p.nonTerminal && !ph.IsTerminal() {
			pick = true
		}
		if pick {
			out = append(out, ph)
		}
	}
	return out
}

type eventListOptions struct {
	app *app
	streams
	project string
	source  string
	typ     string
	cont    string
	limit   int
	output  string
	phase   *phaseFlags
}

func newEventListCommand(a *app) *cobra.Command {
	o := &eventListOptions{app: a}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List events, newest first",
		Example: "  brig event list -p demo --failed --timedout\n" +
			"  brig event list --non-terminal -o json",
		Args: cobra.NoArgs,
		RunE: runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runEventList),
	}
	f := cmd.Flags()
	f.StringVarP(&o.project, "project", "p", "", "only this project's events")
	f.StringVarP(&o.source, "source", "s", "", "only events from this source")
	f.StringVarP(&o.typ, "type", "t", "", "only events of this type")
	f.StringVar(&o.cont, "continue", "", "the cursor printed by the previous page")
	f.IntVar(&o.limit, "limit", 100, "events per page (1-100)")
	o.phase = addPhaseFlags(cmd, "only", false)
	outputFlag(cmd, &o.output)
	a.completeFlag(cmd, "project", "project")
	return cmd
}

func (o *eventListOptions) Validate() error {
	if o.limit < 1 || o.limit > 100 {
		return fmt.Errorf("--limit %d: use 1 to 100", o.limit)
	}
	return checkFormat(o.output)
}

func runEventList(ctx context.Context, o *eventListOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	sel := &client.EventSelector{ProjectID: o.project, Source: o.source, Type: o.typ, WorkerPhases: o.phase.phases()}
	list, err := c.ListEvents(ctx, sel, &client.ListOptions{Limit: o.limit, Continue: o.cont})
	if err != nil {
		return err
	}
	if o.output != formatTable {
		if list.Items == nil {
			list.Items = []core.Event{}
		}
		return printObject(o.out, o.output, "EventList", list)
	}
	now, st := o.app.env.Now(), o.app.style()
	rows := make([][]string, len(list.Items))
	for i, e := range list.Items {
		took := "-"
		if e.Worker != nil {
			took = duration(e.Worker.Status.Started, e.Worker.Status.Ended, now)
		}
		rows[i] = []string{e.Metadata.ID, e.ProjectID, e.Source, e.Type, age(e.Metadata.Created, now),
			st.phase(eventPhase(&e)), took}
	}
	return printTable(o.streams, rows, []string{"ID", "PROJECT", "SOURCE", "TYPE", "AGE", "PHASE", "DURATION"},
		list.Metadata, "No events found.", "brig event list"+o.filterArgs(), o.cont)
}

// filterArgs repeats the filters for the next-page hint.
func (o *eventListOptions) filterArgs() string {
	var b strings.Builder
	for _, f := range [][2]string{{"-p", o.project}, {"-s", o.source}, {"-t", o.typ}} {
		if f[1] != "" {
			fmt.Fprintf(&b, " %s %s", f[0], f[1])
		}
	}
	for _, ph := range o.phase.phases() {
		if len(o.phase.phases()) < len(core.AllPhases) {
			fmt.Fprintf(&b, " --%s", phaseFlagName(ph))
		}
	}
	return b.String()
}

func phaseFlagName(ph core.WorkerPhase) string {
	if ph == core.PhaseTimedOut {
		return "timedout"
	}
	return strings.ReplaceAll(strings.ToLower(string(ph)), "_", "-")
}

// eventManyOptions serve cancel-many and delete-many.
type eventManyOptions struct {
	app *app
	streams
	cancel   bool
	project  string
	yes      bool
	running  bool // cancel-many: also abort RUNNING
	starting bool // cancel-many: also STARTING
	phase    *phaseFlags
	phases   []core.WorkerPhase
}

func newEventManyCommand(a *app, cancel bool) *cobra.Command {
	o := &eventManyOptions{app: a, cancel: cancel}
	cmd := &cobra.Command{Args: cobra.NoArgs,
		RunE: runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runEventMany)}
	f := cmd.Flags()
	f.StringVarP(&o.project, "project", "p", "", "the project whose events to "+map[bool]string{true: "cancel", false: "delete"}[cancel]+" (required)")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	if cancel {
		cmd.Use, cmd.Aliases = "cancel-many -p PROJECT", []string{"cm"}
		cmd.Short = "Cancel a project's pending events (and with -s, -r its starting and running ones)"
		cmd.Example = "  brig event cancel-many -p demo --running --starting -y"
		f.BoolVarP(&o.starting, "starting", "s", false, "also cancel events whose worker is STARTING")
		f.BoolVarP(&o.running, "running", "r", false, "also abort events whose worker is RUNNING")
	} else {
		cmd.Use, cmd.Aliases = "delete-many -p PROJECT --PHASE...", []string{"dm"}
		cmd.Short = "Delete a project's events in the phases given (aborting running ones)"
		cmd.Example = "  brig event delete-many -p demo --succeeded --failed -y\n  brig event delete-many -p demo --terminal"
		o.phase = addPhaseFlags(cmd, "delete", true)
	}
	a.completeFlag(cmd, "project", "project")
	return cmd
}

func (o *eventManyOptions) Validate() error {
	if o.project == "" {
		return errors.New("--project (-p) is required: events are canceled or deleted one project at a time")
	}
	if o.cancel {
		o.phases = []core.WorkerPhase{core.PhasePending}
		if o.starting {
			o.phases = append(o.phases, core.PhaseStarting)
		}
		if o.running {
			o.phases = append(o.phases, core.PhaseRunning)
		}
		return nil
	}
	if o.phases = o.phase.phases(); len(o.phases) == 0 {
		return errors.New("which events? pick phases, e.g. --succeeded --failed, or --terminal or --any-phase")
	}
	return nil
}

func runEventMany(ctx context.Context, o *eventManyOptions) error {
	verb := map[bool]string{true: "Cancel", false: "Delete"}[o.cancel]
	names := make([]string, len(o.phases))
	for i, p := range o.phases {
		names[i] = string(p)
	}
	if !o.yes {
		ok, err := confirm(o.streams, fmt.Sprintf("%s every %s event of project %q?", verb, strings.Join(names, ", "), o.project))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(o.out, "Nothing changed.")
			return nil
		}
	}
	c, err := o.app.client()
	if err != nil {
		return err
	}
	sel := client.EventSelector{ProjectID: o.project, WorkerPhases: o.phases}
	var n int64
	if o.cancel {
		n, err = c.CancelManyEvents(ctx, sel)
	} else {
		n, err = c.DeleteManyEvents(ctx, sel)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "%sed %d event(s) of project %q.\n", strings.TrimSuffix(verb, "e"), n, o.project)
	return nil
}
