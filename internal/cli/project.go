package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

func newProjectCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "project",
		Aliases: []string{"projects"},
		Short:   "Manage projects",
	}
	cmd.AddCommand(
		newProjectCreateCommand(a),
		newProjectListCommand(a),
		newGetCommand(a, "Show a project: its subscriptions, script and latest events", "Project",
			func(ctx context.Context, c *client.Client, id string) (any, error) { return c.GetProject(ctx, id) },
			projectSummary),
		newProjectUpdateCommand(a),
		newProjectDeleteCommand(a),
		newSecretCommand(a),
		newProjectRoleCommand(a),
	)
	return cmd
}

type projectCreateOptions struct {
	app *app
	streams
	file        string
	interactive bool // standard input is a terminal: ask instead of -f
}

func newProjectCreateCommand(a *app) *cobra.Command {
	o := &projectCreateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "create [-f FILE]",
		Short: "Create a project from a YAML or JSON file, or by answering questions",
		Long: "Create a project from a YAML or JSON file (\"-\" reads standard input). apiVersion and kind\n" +
			"may be left out.\n\n" +
			"Without -f, in a terminal, brig asks for the project's id, description, event subscription,\n" +
			"script (a local brigade.js or brigade.ts, or a git repository) and worker log level, shows the\n" +
			"project and creates it when you agree.",
		Example: "  brig project create -f project.yaml\n  brig project create",
		Args:    cobra.NoArgs,
		RunE: runE(o, func(cmd *cobra.Command, _ []string) {
			o.streams = streamsOf(cmd)
			o.interactive = a.env.Terminal
		}, runProjectCreate),
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "the project definition, YAML or JSON (- for standard input)")
	return cmd
}

func (o *projectCreateOptions) Validate() error {
	if o.file == "" && !o.interactive {
		return errors.New("no project definition: pass -f project.yaml (or -f - to read standard input); " +
			"brig asks questions instead only when standard input is a terminal")
	}
	return nil
}

func runProjectCreate(ctx context.Context, o *projectCreateOptions) error {
	var p *core.Project
	if o.file == "" {
		var ok bool
		var err error
		if p, ok, err = o.askProject(); err != nil || !ok {
			return err
		}
	} else {
		var err error
		if p, err = readProject(o.file, o.in); err != nil {
			return err
		}
	}
	c, err := o.app.client()
	if err != nil {
		return err
	}
	created, err := c.CreateProject(ctx, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "Created project %q.\n", created.Metadata.ID)
	return nil
}

// askProject asks for the project, shows it and asks to go ahead; ok is
// false when the answer is no.
func (o *projectCreateOptions) askProject() (*core.Project, bool, error) {
	pr := newPrompter(o.in, o.out)
	p, err := askProject(pr)
	if err != nil {
		return nil, false, fmt.Errorf("asking for the project: %w (or pass -f project.yaml)", err)
	}
	fmt.Fprintln(o.out)
	if err := printObject(o.out, formatYAML, "Project", p); err != nil {
		return nil, false, err
	}
	fmt.Fprintln(o.out)
	answer, err := pr.ask("Create this project? (y/n)", "y", nil)
	if err != nil {
		return nil, false, err
	}
	switch strings.ToLower(answer) {
	case "y", "yes":
		return p, true, nil
	}
	fmt.Fprintln(o.out, "Nothing created.")
	return nil, false, nil
}

func newProjectListCommand(a *app) *cobra.Command {
	return newListCommand(a, "List projects", "ProjectList", "brig project list",
		"No projects found. Create one with `brig init -i NAME` then `brig project create -f project.yaml`.",
		[]string{"ID", "DESCRIPTION", "AGE"},
		func(ctx context.Context, c *client.Client, o *client.ListOptions) (page, error) {
			l, err := c.ListProjects(ctx, o)
			if err != nil {
				return page{}, err
			}
			if l.Items == nil {
				l.Items = []core.Project{}
			}
			now := a.env.Now()
			rows := make([][]string, len(l.Items))
			for i, p := range l.Items {
				rows[i] = []string{p.Metadata.ID, orDash(p.Description), age(p.Metadata.Created, now)}
			}
			return page{list: l, rows: rows, meta: l.Metadata}, nil
		})
}

// morePages tells how to get the next page, on stderr so the table stays
// clean for pipes.
func morePages(w io.Writer, cmd string, meta core.ListMeta) {
	if meta.Continue != "" {
		fmt.Fprintf(w, "%d more; next page: %s --continue %s\n", meta.RemainingItemCount, cmd, meta.Continue)
	}
}

func newProjectDeleteCommand(a *app) *cobra.Command {
	return newIDCommand(a, "project", "delete", "Delete a project with all its events, logs and secrets",
		"Delete project %q with all its events, logs and secrets?",
		func(ctx context.Context, c *client.Client, id string) (string, error) {
			return fmt.Sprintf("Deleted project %q.\n", id), c.DeleteProject(ctx, id)
		})
}

// confirm asks a yes/no question on stderr and reads the answer from stdin.
func confirm(s streams, question string) (bool, error) {
	fmt.Fprintf(s.errOut, "%s [y/N] ", question)
	line, err := bufio.NewReader(s.in).ReadString('\n')
	if strings.TrimSpace(line) == "" && err != nil {
		fmt.Fprintln(s.errOut)
		return false, errors.New("no answer on standard input: add -y (--yes) to go ahead without asking")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
