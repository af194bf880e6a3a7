package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/core"
)

type projectUpdateOptions struct {
	app *app
	streams
	file   string
	create bool
}

func newProjectUpdateCommand(a *app) *cobra.Command {
	o := &projectUpdateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "update -f FILE",
		Short: "Replace a project's description and spec with those of a YAML or JSON file",
		Long: "Replace a project with the one a YAML or JSON file describes (\"-\" reads standard input);\n" +
			"its metadata.id says which. Events already created keep the worker spec they were made with.",
		Example: "  brig project update -f project.yaml\n  brig project update -f project.yaml --create",
		Args:    cobra.NoArgs,
		RunE:    runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runProjectUpdate),
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "the project definition, YAML or JSON (- for standard input; required)")
	cmd.Flags().BoolVarP(&o.create, "create", "c", false, "create the project if it does not exist")
	return cmd
}

func (o *projectUpdateOptions) Validate() error {
	if o.file == "" {
		return errors.New("--file (-f) is required: brig project update -f project.yaml")
	}
	return nil
}

func runProjectUpdate(ctx context.Context, o *projectUpdateOptions) error {
	p, err := readProject(o.file, o.in)
	if err != nil {
		return err
	}
	c, err := o.app.client()
	if err != nil {
		return err
	}
	updated, err := c.UpdateProject(ctx, p, o.create)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "Updated project %q.\n", updated.Metadata.ID)
	return nil
}

// readProject reads a project file and checks it names the project.
func readProject(file string, stdin io.Reader) (*core.Project, error) {
	data, err := readInput(file, stdin)
	if err != nil {
		return nil, err
	}
	p := &core.Project{}
	if err := decodeObject(data, file, "Project", p); err != nil {
		return nil, err
	}
	if p.Metadata.ID == "" {
		return nil, fmt.Errorf("%s has no metadata.id: give the project an id", file)
	}
	return p, nil
}

// projectSummary is `brig project get` for people.
func projectSummary(w io.Writer, v any, now time.Time, _ style) error {
	p := v.(*core.Project)
	kv := newTable(w)
	kv.row("ID:", p.Metadata.ID)
	kv.row("Description:", orDash(p.Description))
	kv.row("Created:", ago(p.Metadata.Created, now))
	var subs []string
	for _, s := range p.Spec.EventSubscriptions {
		sub := s.Source + " " + strings.Join(s.Types, ",")
		if len(s.Qualifiers) > 0 {
			sub += " (" + joinPairs(s.Qualifiers) + ")"
		}
		subs = append(subs, sub)
	}
	kv.row("Subscribes to:", orDash(strings.Join(subs, "; ")))
	wt := p.Spec.WorkerTemplate
	var script []string
	for name := range wt.DefaultConfigFiles {
		script = append(script, name)
	}
	if wt.Git != nil && wt.Git.CloneURL != "" {
		script = append(script, "git "+wt.Git.CloneURL)
	}
	sort.Strings(script)
	kv.row("Script:", orDash(strings.Join(script, ", ")))
	if err := kv.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nIts events: brig event list -p %s; its secrets: brig project secret list %s; everything: -o yaml\n",
		p.Metadata.ID, p.Metadata.ID)
	return nil
}
