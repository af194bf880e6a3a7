package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

var (
	systemRoleNames  = []string{"ADMIN", "EVENT_CREATOR", "PROJECT_CREATOR", "READER"}
	projectRoleNames = []string{"PROJECT_ADMIN", "PROJECT_DEVELOPER", "PROJECT_USER"}
)

// newRoleCommand is `brig role`: system roles.
func newRoleCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "role",
		Aliases: []string{"roles"},
		Short:   "Manage system roles of users and service accounts",
	}
	cmd.AddCommand(newRoleChangeCommand(a, false, true), newRoleChangeCommand(a, false, false), newRoleListCommand(a, false))
	return cmd
}

// newProjectRoleCommand is `brig project role`: roles on one project.
func newProjectRoleCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "role",
		Aliases: []string{"roles"},
		Short:   "Manage the roles of users and service accounts on a project",
	}
	cmd.AddCommand(newRoleChangeCommand(a, true, true), newRoleChangeCommand(a, true, false), newRoleListCommand(a, true))
	return cmd
}

// roleChangeOptions serve grant and revoke, of system and project roles.
type roleChangeOptions struct {
	app *app
	streams
	project  bool // project roles
	grant    bool // grant, else revoke
	role     string
	source   string // EVENT_CREATOR's scope
	projects string
	users    []string
	accounts []string
}

func newRoleChangeCommand(a *app, project, grant bool) *cobra.Command {
	o := &roleChangeOptions{app: a, project: project, grant: grant}
	verb, prep := "revoke", "from"
	if grant {
		verb, prep = "grant", "to"
	}
	roles, where := systemRoleNames, ""
	if project {
		roles, where = projectRoleNames, " on a project"
	}
	cmd := &cobra.Command{
		Use:   verb + " ROLE [-u USER]... [-s SERVICE_ACCOUNT]...",
		Short: fmt.Sprintf("%s a role%s %s users or service accounts (%s)", capitalize(verb), where, prep, strings.Join(roles, ", ")),
		Args:  cobra.ExactArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.role = strings.ToUpper(args[0])
		}, runRoleChange),
	}
	if project {
		cmd.Example = fmt.Sprintf("  brig project role %s PROJECT_USER -p my-project -u ann@example.com", verb)
		cmd.Flags().StringVarP(&o.projects, "project", "p", "", "the project (required)")
		cmd.Flags().StringVarP(&o.projects, "id", "i", "", "the project (the same as --project)")
	} else {
		cmd.Example = fmt.Sprintf("  brig role %s READER -u ann@example.com\n  brig role %s EVENT_CREATOR --source example.com/my-gateway -s my-gateway", verb, verb)
		cmd.Flags().StringVar(&o.source, "source", "", "with EVENT_CREATOR: the event source (required for it)")
	}
	cmd.Flags().StringSliceVarP(&o.users, "user", "u", nil, verb+" the role "+prep+" this user (repeatable)")
	cmd.Flags().StringSliceVarP(&o.accounts, "service-account", "s", nil, verb+" the role "+prep+" this service account (repeatable)")
	return cmd
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func (o *roleChangeOptions) Validate() error {
	roles := systemRoleNames
	if o.project {
		roles = projectRoleNames
	}
	if !slices.Contains(roles, o.role) {
		return fmt.Errorf("%q is not a role here: use one of %s", o.role, strings.Join(roles, ", "))
	}
	if o.project && o.projects == "" {
		return errors.New("which project? name it with -p (--project)")
	}
	switch {
	case o.role == "EVENT_CREATOR" && o.source == "":
		return errors.New("EVENT_CREATOR is granted for one event source: name it with --source")
	case o.role != "EVENT_CREATOR" && o.source != "":
		return fmt.Errorf("--source goes with EVENT_CREATOR only, not %s", o.role)
	}
	if len(o.users) == 0 && len(o.accounts) == 0 {
		return errors.New("at least one user or service account must be specified using the --user or --service-account flags")
	}
	return nil
}

func runRoleChange(ctx context.Context, o *roleChangeOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	type target struct {
		ref  core.PrincipalReference
		what string
	}
	var targets []target
	for _, u := range o.users {
		targets = append(targets, target{core.PrincipalReference{Type: core.PrincipalTypeUser, ID: u}, "user"})
	}
	for _, s := range o.accounts {
		targets = append(targets, target{core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: s}, "service account"})
	}
	for _, t := range targets {
		if err := o.change(ctx, c, t.ref); err != nil {
			return err
		}
		switch {
		case o.grant && o.project:
			fmt.Fprintf(o.out, "Granted role %q on project %q to %s %q.\n", o.role, o.projects, t.what, t.ref.ID)
		case o.grant:
			fmt.Fprintf(o.out, "Granted role %q to %s %q.\n", o.role, t.what, t.ref.ID)
		case o.project:
			fmt.Fprintf(o.out, "Revoked role %q on project %q for %s %q.\n", o.role, o.projects, t.what, t.ref.ID)
		default:
			fmt.Fprintf(o.out, "Revoked role %q for %s %q.\n", o.role, t.what, t.ref.ID)
		}
	}
	return nil
}

func (o *roleChangeOptions) change(ctx context.Context, c *client.Client, p core.PrincipalReference) error {
	role := core.Role(o.role)
	if o.project {
		a := core.ProjectRoleAssignment{ProjectID: o.projects, Role: role, Principal: p}
		if o.grant {
			return c.GrantProjectRole(ctx, a)
		}
		return c.RevokeProjectRole(ctx, a)
	}
	a := core.RoleAssignment{Role: role, Principal: p, Scope: o.source}
	if o.grant {
		return c.GrantRole(ctx, a)
	}
	return c.RevokeRole(ctx, a)
}

// newRoleListCommand lists role assignments, narrowed as Brigade's brig
// did: by role, and by one user or one service account (and, for project
// roles, by project).
func newRoleListCommand(a *app, project bool) *cobra.Command {
	var role, user, account, projectID string
	filter := func() (*core.PrincipalReference, error) {
		switch {
		case user != "" && account != "":
			return nil, errors.New("--user and --service-account filter flags are mutually exclusive")
		case user != "":
			return &core.PrincipalReference{Type: core.PrincipalTypeUser, ID: user}, nil
		case account != "":
			return &core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: account}, nil
		}
		return nil, nil
	}
	var cmd *cobra.Command
	if project {
		cmd = newListCommand(a, "List project roles", "ProjectRoleAssignmentList", "brig project role list", "No role assignments found.",
			[]string{"PROJECT", "PRINCIPAL TYPE", "PRINCIPAL ID", "ROLE"},
			func(ctx context.Context, c *client.Client, o *client.ListOptions) (page, error) {
				p, err := filter()
				if err != nil {
					return page{}, err
				}
				sel := core.ProjectRoleAssignmentSelector{ProjectID: projectID, Principal: p, Role: core.Role(strings.ToUpper(role))}
				l, err := c.ListProjectRoles(ctx, sel, o)
				if err != nil {
					return page{}, err
				}
				rows := make([][]string, len(l.Items))
				for i, r := range l.Items {
					rows[i] = []string{r.ProjectID, string(r.Principal.Type), r.Principal.ID, string(r.Role)}
				}
				return page{list: l, rows: rows, meta: l.Metadata}, nil
			})
		cmd.Flags().StringVarP(&projectID, "project", "p", "", "only this project")
		cmd.Flags().StringVarP(&projectID, "id", "i", "", "only this project (the same as --project)")
	} else {
		cmd = newListCommand(a, "List system roles", "RoleAssignmentList", "brig role list", "No role assignments found.",
			[]string{"PRINCIPAL TYPE", "PRINCIPAL ID", "ROLE", "SCOPE"},
			func(ctx context.Context, c *client.Client, o *client.ListOptions) (page, error) {
				p, err := filter()
				if err != nil {
					return page{}, err
				}
				l, err := c.ListRoles(ctx, core.RoleAssignmentSelector{Principal: p, Role: core.Role(strings.ToUpper(role))}, o)
				if err != nil {
					return page{}, err
				}
				rows := make([][]string, len(l.Items))
				for i, r := range l.Items {
					rows[i] = []string{string(r.Principal.Type), r.Principal.ID, string(r.Role), orDash(r.Scope)}
				}
				return page{list: l, rows: rows, meta: l.Metadata}, nil
			})
	}
	cmd.Flags().StringVarP(&role, "role", "r", "", "only this role")
	cmd.Flags().StringVarP(&user, "user", "u", "", "only this user")
	cmd.Flags().StringVarP(&account, "service-account", "s", "", "only this service account")
	return cmd
}
