package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/core"
)

// eventSummary is `brig event get` for people: what the event is, how its
// worker is doing and a row per job; the payload and script stay out
// (-o yaml shows everything).
func eventSummary(w io.Writer, v any, now time.Time, st style) error {
	e := v.(*core.Event)
	kv := newTable(w)
	kv.row("ID:", e.Metadata.ID)
	kv.row("Project:", e.ProjectID)
	kv.row("Source:", e.Source)
	kv.row("Type:", e.Type)
	if e.ShortTitle != "" {
		kv.row("Title:", e.ShortTitle)
	}
	if len(e.Qualifiers) > 0 {
		kv.row("Qualifiers:", joinPairs(e.Qualifiers))
	}
	if len(e.Labels) > 0 {
		kv.row("Labels:", joinPairs(e.Labels))
	}
	if e.Git != nil {
		kv.row("Git:", strings.Join(nonEmpty(e.Git.CloneURL, e.Git.Ref, e.Git.Commit), " "))
	}
	if e.Payload != "" {
		kv.row("Payload:", fmt.Sprintf("%d bytes (-o yaml shows it)", len(e.Payload)))
	}
	kv.row("Created:", ago(e.Metadata.Created, now))
	if e.Worker != nil {
		ws := e.Worker.Status
		kv.row("Phase:", st.phase(eventPhase(e)))
		if ws.Started != nil {
			kv.row("Started:", ago(ws.Started, now))
			kv.row("Duration:", duration(ws.Started, ws.Ended, now))
		}
	}
	if e.Summary != "" {
		kv.row("Summary:", oneLine(e.Summary, 200))
	}
	if err := kv.flush(); err != nil {
		return err
	}
	if e.Worker == nil || len(e.Worker.Jobs) == 0 {
		fmt.Fprintln(w, "\nNo jobs.")
		return nil
	}
	fmt.Fprintln(w)
	return printJobs(w, e, now, st, "")
}

// printJobs writes a table of an event's jobs; indent starts each row.
func printJobs(w io.Writer, e *core.Event, now time.Time, st style, indent string) error {
	t := newTable(w, indent+"JOB", "IMAGE", "PHASE", "STARTED", "DURATION", "RESULT")
	for _, j := range e.Worker.Jobs {
		var s core.JobStatus
		if j.Status != nil {
			s = *j.Status
		}
		phase := s.Phase
		if phase == "" {
			phase = core.PhaseUnknown
		}
		t.row(indent+j.Name, orDash(j.Spec.PrimaryContainer.Image), st.phase(phase), ago(s.Started, now),
			duration(s.Started, s.Ended, now), cell(jobResult(e.Metadata.ID, j, now)))
	}
	return t.flush()
}

func joinPairs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ", ")
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func newJobCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "job",
		Aliases: []string{"jobs"},
		Short:   "Inspect the jobs of an event",
	}
	cmd.AddCommand(newJobListCommand(a))
	return cmd
}

type jobListOptions struct {
	app *app
	streams
	event  idArg
	output string
}

func newJobListCommand(a *app) *cobra.Command {
	o := &jobListOptions{app: a, event: idArg{noun: "event"}}
	cmd := &cobra.Command{
		Use:     "list EVENT | list -i EVENT",
		Aliases: []string{"ls"},
		Short:   "List an event's jobs with their phases, durations and results",
		Example: "  brig job list EVENT_ID\n  brig job list -i EVENT_ID -o json",
		Args:    cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.event.bind(args)
		}, runJobList),
	}
	o.event.register(a, cmd)
	outputFlag(cmd, &o.output)
	return cmd
}

func (o *jobListOptions) Validate() error {
	if err := o.event.Validate(); err != nil {
		return err
	}
	return checkFormat(o.output)
}

func runJobList(ctx context.Context, o *jobListOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	e, err := c.GetEvent(ctx, o.event.id)
	if err != nil {
		return err
	}
	var jobs []core.Job
	if e.Worker != nil {
		jobs = e.Worker.Jobs
	}
	if o.output != formatTable {
		if jobs == nil {
			jobs = []core.Job{}
		}
		return printObject(o.out, o.output, "JobList", struct {
			Metadata core.ListMeta `json:"metadata"`
			Items    []core.Job    `json:"items"`
		}{Items: jobs})
	}
	if len(jobs) == 0 {
		fmt.Fprintf(o.out, "Event %q has no jobs.\n", e.Metadata.ID)
		return nil
	}
	return printJobs(o.out, e, o.app.env.Now(), o.app.style(), "")
}
