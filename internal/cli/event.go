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
		newGetCommand(a, "Show an event with its worker and jobs", "Event",
			func(ctx context.Context, c *client.Client, id string) (any, error) { return c.GetEvent(ctx, id) }),
		newEventListCommand(a),
		newEventLogsCommand(a),
		newEventCancelCommand(a),
	)
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
			"(by default " + defaultEventSource + " and " + defaultEventType + "). With --follow, stream the worker's logs and exit\n" +
			"non-zero unless the worker succeeds.",
		Example: "  brig event create -p demo --payload '{\"branch\":\"main\"}' -f",
		Args:    cobra.NoArgs,
		RunE:    runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runEventCreate),
	}
	f := cmd.Flags()
	f.StringVarP(&o.project, "project", "p", "", "the project to create the event for (required)")
	f.StringVarP(&o.source, "source", "s", defaultEventSource, "the event's source")
	f.StringVarP(&o.typ, "type", "t", defaultEventType, "the event's type")
	f.StringVar(&o.payload, "payload", "", "the event's payload")
	f.StringVar(&o.payloadFile, "payload-file", "", "a file holding the event's payload")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "a label key=value (repeatable)")
	f.StringArrayVarP(&o.qualifiers, "qualifier", "q", nil, "a qualifier key=value (repeatable)")
	f.BoolVarP(&o.follow, "follow", "f", false, "stream the worker's logs until it ends")
	return cmd
}

func (o *eventCreateOptions) Validate() error {
	if o.project == "" {
		return errors.New("--project is required: brig event create -p PROJECT")
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
	id := events[0].Metadata.ID
	fmt.Fprintln(o.out)
	if err := printLogs(ctx, c, o.out, id, client.LogOptions{Follow: true}); err != nil {
		return err
	}
	phase, err := finalPhase(ctx, c, id)
	if err != nil {
		return err
	}
	if phase != core.PhaseSucceeded {
		return fmt.Errorf("the worker of event %q ended %s; see `brig event get %s`", id, phase, id)
	}
	return nil
}

// finalPhase waits for the worker's terminal phase.
func finalPhase(ctx context.Context, c *client.Client, eventID string) (core.WorkerPhase, error) {
	statuses, errs := c.WatchWorkerStatus(ctx, eventID)
	var last core.WorkerPhase
	for st := range statuses {
		last = st.Phase
	}
	if err := <-errs; err != nil {
		return last, fmt.Errorf("waiting for the worker of event %q to end: %w", eventID, err)
	}
	return last, nil
}

type eventListOptions struct {
	app *app
	streams
	project string
	cont    string
}

func newEventListCommand(a *app) *cobra.Command {
	o := &eventListOptions{app: a}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List events, newest first",
		Args:    cobra.NoArgs,
		RunE:    runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runEventList),
	}
	cmd.Flags().StringVarP(&o.project, "project", "p", "", "only this project's events")
	cmd.Flags().StringVar(&o.cont, "continue", "", "the cursor printed by the previous page")
	return cmd
}

func (o *eventListOptions) Validate() error { return nil }

func runEventList(ctx context.Context, o *eventListOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	list, err := c.ListEvents(ctx, &client.EventSelector{ProjectID: o.project},
		&client.ListOptions{Limit: 100, Continue: o.cont})
	if err != nil {
		return err
	}
	if len(list.Items) == 0 && o.cont == "" {
		fmt.Fprintln(o.out, "No events found.")
		return nil
	}
	now := o.app.env.Now()
	t := newTable(o.out, "ID", "PROJECT", "SOURCE", "TYPE", "AGE", "PHASE")
	for _, e := range list.Items {
		phase := ""
		if e.Worker != nil {
			phase = string(e.Worker.Status.Phase)
		}
		t.row(e.Metadata.ID, e.ProjectID, e.Source, e.Type, age(e.Metadata.Created, now), orDash(phase))
	}
	if err := t.flush(); err != nil {
		return err
	}
	cmd := "brig event list"
	if o.project != "" {
		cmd += " -p " + o.project
	}
	morePages(o.errOut, cmd, list.Metadata)
	return nil
}

type eventCancelOptions struct {
	app *app
	streams
	id string
}

func newEventCancelCommand(a *app) *cobra.Command {
	o := &eventCancelOptions{app: a}
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a pending event or abort a running one",
		Args:  cobra.ExactArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.id = args[0]
		}, runEventCancel),
	}
}

func (o *eventCancelOptions) Validate() error { return nil }

func runEventCancel(ctx context.Context, o *eventCancelOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	if err := c.CancelEvent(ctx, o.id); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "Canceled event %q.\n", o.id)
	return nil
}
