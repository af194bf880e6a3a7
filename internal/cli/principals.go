package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// newServiceAccountCommand is `brig service-account` (or `brig sa`), with
// Brigade's subcommands and flags.
func newServiceAccountCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "service-account",
		Aliases: []string{"sa", "service-accounts"},
		Short:   "Manage service accounts (non-person principals such as gateways)",
	}
	cmd.AddCommand(
		newServiceAccountCreateCommand(a),
		newListCommand(a, "List service accounts", "brig service-account list", "No service accounts found.",
			[]string{"ID", "DESCRIPTION", "AGE", "LOCKED?"},
			func(ctx context.Context, c *client.Client, o *client.ListOptions) ([][]string, core.ListMeta, error) {
				l, err := c.ListServiceAccounts(ctx, o)
				if err != nil {
					return nil, core.ListMeta{}, err
				}
				now := a.env.Now()
				rows := make([][]string, len(l.Items))
				for i, sa := range l.Items {
					rows[i] = []string{sa.Metadata.ID, sa.Description, age(sa.Metadata.Created, now), lockedCell(sa.Locked)}
				}
				return rows, l.Metadata, nil
			}),
		withIDFlag(newGetCommand(a, "Show a service account", "ServiceAccount",
			func(ctx context.Context, c *client.Client, id string) (any, error) {
				return c.GetServiceAccount(ctx, id)
			})),
		newIDCommand(a, "lock", "Lock a service account out: its token is refused", "",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("Service account %q locked.\n", id), c.LockServiceAccount(ctx, id)
			}),
		newIDCommand(a, "unlock", "Let a service account in again, with a new token (the old one stays refused)", "",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				tok, err := c.UnlockServiceAccount(ctx, id)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("\nService account %q unlocked and a new token has been issued:\n\n\t%s\n\n%s\n",
					id, tok.Value, storeTokenNow), nil
			}),
		newIDCommand(a, "delete", "Delete a service account and its roles", "Delete service account %q and its roles?",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("Service account %q deleted.\n", id), c.DeleteServiceAccount(ctx, id)
			}),
	)
	return cmd
}

const storeTokenNow = "Store this token someplace secure NOW. It cannot be retrieved later through any other means."

type saCreateOptions struct {
	app *app
	streams
	id, description, output string
}

func newServiceAccountCreateCommand(a *app) *cobra.Command {
	o := &saCreateOptions{app: a}
	cmd := &cobra.Command{
		Use:     "create -i ID -d DESCRIPTION",
		Short:   "Create a service account and show its token (once)",
		Example: "  brig sa create -i my-gateway -d \"events from my gateway\"",
		Args:    cobra.NoArgs,
		RunE:    runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runServiceAccountCreate),
	}
	cmd.Flags().StringVarP(&o.id, "id", "i", "", "the service account's id: lowercase letters, digits and dashes (required)")
	cmd.Flags().StringVarP(&o.description, "description", "d", "", "what the account is for (required)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "plaintext", "plaintext, yaml or json")
	return cmd
}

func (o *saCreateOptions) Validate() error {
	var missing []string
	if o.id == "" {
		missing = append(missing, "--id (-i)")
	}
	if o.description == "" {
		missing = append(missing, "--description (-d)")
	}
	if missing != nil {
		return fmt.Errorf("brig sa create needs %v", missing)
	}
	if o.output != "plaintext" {
		return checkFormat(o.output)
	}
	return nil
}

func runServiceAccountCreate(ctx context.Context, o *saCreateOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	tok, err := c.CreateServiceAccount(ctx, o.id, o.description)
	if err != nil {
		return err
	}
	if o.output != "plaintext" {
		return printObject(o.out, o.output, "Token", tok)
	}
	fmt.Fprintf(o.out, "\nService account %q created with token:\n\n\t%s\n\n%s\n", o.id, tok.Value, storeTokenNow)
	return nil
}

// newUserCommand is `brig user`: users appear on their first third-party
// login; brig lists, shows, locks, unlocks and deletes them.
func newUserCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "user",
		Aliases: []string{"users"},
		Short:   "Manage users (people who logged in through a third party)",
	}
	cmd.AddCommand(
		newListCommand(a, "List users", "brig user list", "No users found.",
			[]string{"ID", "NAME", "FIRST SEEN", "LOCKED?"},
			func(ctx context.Context, c *client.Client, o *client.ListOptions) ([][]string, core.ListMeta, error) {
				l, err := c.ListUsers(ctx, o)
				if err != nil {
					return nil, core.ListMeta{}, err
				}
				now := a.env.Now()
				rows := make([][]string, len(l.Items))
				for i, u := range l.Items {
					rows[i] = []string{u.Metadata.ID, orDash(u.Name), age(u.Metadata.Created, now), lockedCell(u.Locked)}
				}
				return rows, l.Metadata, nil
			}),
		withIDFlag(newGetCommand(a, "Show a user", "User",
			func(ctx context.Context, c *client.Client, id string) (any, error) { return c.GetUser(ctx, id) })),
		newIDCommand(a, "lock", "Lock a user out and end its sessions", "",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("User %q locked.\n", id), c.LockUser(ctx, id)
			}),
		newIDCommand(a, "unlock", "Let a locked user log in again", "",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("User %q unlocked.\n", id), c.UnlockUser(ctx, id)
			}),
		newIDCommand(a, "delete", "Delete a user with its sessions and roles", "Delete user %q with its sessions and roles?",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("User %q deleted.\n", id), c.DeleteUser(ctx, id)
			}),
	)
	return cmd
}

func lockedCell(t *time.Time) string {
	if t == nil {
		return "no"
	}
	return "yes"
}

// withIDFlag lets `get ID` also take the id as -i/--id, as Brigade's brig
// did.
func withIDFlag(cmd *cobra.Command) *cobra.Command {
	var id string
	cmd.Use = "get ID | get -i ID"
	cmd.Flags().StringVarP(&id, "id", "i", "", "the id (instead of the argument)")
	args, run := cmd.Args, cmd.RunE
	cmd.Args = func(cmd *cobra.Command, a []string) error {
		if id != "" {
			return cobra.NoArgs(cmd, a)
		}
		return args(cmd, a)
	}
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		if id != "" {
			a = []string{id}
		}
		return run(cmd, a)
	}
	return cmd
}

// idOptions serve the commands that act on one object by id.
type idOptions struct {
	app *app
	streams
	id      string
	twoIDs  bool // the argument and -i name different ids
	yes     bool
	confirm string // a question to ask first, with the id in it; empty: none
	act     func(ctx context.Context, c *client.Client, id string) (string, error)
}

func newIDCommand(a *app, name, short, confirm string, act func(context.Context, *client.Client, string) (string, error)) *cobra.Command {
	o := &idOptions{app: a, confirm: confirm, act: act}
	cmd := &cobra.Command{
		Use:   name + " ID | " + name + " -i ID",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			if len(args) == 1 {
				o.twoIDs = o.id != "" && o.id != args[0]
				o.id = args[0]
			}
		}, runID),
	}
	cmd.Flags().StringVarP(&o.id, "id", "i", "", "the id (instead of the argument)")
	if confirm != "" {
		cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	}
	return cmd
}

func (o *idOptions) Validate() error {
	switch {
	case o.id == "":
		return errors.New("which one? give its id as the argument or with -i (--id)")
	case o.twoIDs:
		return errors.New("the argument and -i (--id) name different ids: give one")
	}
	return nil
}

func runID(ctx context.Context, o *idOptions) error {
	if o.confirm != "" && !o.yes {
		ok, err := confirm(o.streams, fmt.Sprintf(o.confirm, o.id))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(o.out, "Nothing deleted.")
			return nil
		}
	}
	c, err := o.app.client()
	if err != nil {
		return err
	}
	msg, err := o.act(ctx, c, o.id)
	if err != nil {
		return err
	}
	fmt.Fprint(o.out, msg)
	return nil
}

// listOptions serve the list commands: one page as a table, and how to
// get the next.
type listOptions struct {
	app *app
	streams
	cont    string
	cmdLine string // for the next-page hint
	empty   string
	headers []string
	fetch   func(ctx context.Context, c *client.Client, o *client.ListOptions) ([][]string, core.ListMeta, error)
}

func newListCommand(a *app, short, cmdLine, empty string, headers []string,
	fetch func(context.Context, *client.Client, *client.ListOptions) ([][]string, core.ListMeta, error)) *cobra.Command {
	o := &listOptions{app: a, cmdLine: cmdLine, empty: empty, headers: headers, fetch: fetch}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   short,
		Args:    cobra.NoArgs,
		RunE:    runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runList),
	}
	cmd.Flags().StringVar(&o.cont, "continue", "", "the cursor printed by the previous page")
	return cmd
}

func (o *listOptions) Validate() error { return nil }

func runList(ctx context.Context, o *listOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	rows, meta, err := o.fetch(ctx, c, &client.ListOptions{Limit: 100, Continue: o.cont})
	if err != nil {
		return err
	}
	if len(rows) == 0 && o.cont == "" {
		fmt.Fprintln(o.out, o.empty)
		return nil
	}
	t := newTable(o.out, o.headers...)
	for _, r := range rows {
		t.row(r...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	morePages(o.errOut, o.cmdLine, meta)
	return nil
}
