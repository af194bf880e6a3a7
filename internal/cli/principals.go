package cli

import (
	"context"
	"fmt"
	"io"
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
		newListCommand(a, "List service accounts", "ServiceAccountList", "brig service-account list", "No service accounts found.",
			[]string{"ID", "DESCRIPTION", "AGE", "LOCKED?"},
			func(ctx context.Context, c *client.Client, o *client.ListOptions) (page, error) {
				l, err := c.ListServiceAccounts(ctx, o)
				if err != nil {
					return page{}, err
				}
				now := a.env.Now()
				rows := make([][]string, len(l.Items))
				for i, sa := range l.Items {
					rows[i] = []string{sa.Metadata.ID, sa.Description, age(sa.Metadata.Created, now), lockedCell(sa.Locked)}
				}
				return page{list: l, rows: rows, meta: l.Metadata}, nil
			}),
		newGetCommand(a, "Show a service account", "ServiceAccount",
			func(ctx context.Context, c *client.Client, id string) (any, error) {
				return c.GetServiceAccount(ctx, id)
			}, func(w io.Writer, v any, now time.Time, _ style) error {
				sa := v.(*core.ServiceAccount)
				return printPairs(w, [][2]string{{"ID:", sa.Metadata.ID}, {"Description:", orDash(sa.Description)},
					{"Created:", ago(sa.Metadata.Created, now)}, {"Locked:", lockedSince(sa.Locked, now)}})
			}),
		newIDCommand(a, "service account", "lock", "Lock a service account out: its token is refused", "",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("Service account %q locked.\n", id), c.LockServiceAccount(ctx, id)
			}),
		newIDCommand(a, "service account", "unlock", "Let a service account in again, with a new token (the old one stays refused)", "",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				tok, err := c.UnlockServiceAccount(ctx, id)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("\nService account %q unlocked and a new token has been issued:\n\n\t%s\n\n%s\n",
					id, tok.Value, storeTokenNow), nil
			}),
		newIDCommand(a, "service account", "delete", "Delete a service account and its roles", "Delete service account %q and its roles?",
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
		newListCommand(a, "List users", "UserList", "brig user list", "No users found.",
			[]string{"ID", "NAME", "FIRST SEEN", "LOCKED?"},
			func(ctx context.Context, c *client.Client, o *client.ListOptions) (page, error) {
				l, err := c.ListUsers(ctx, o)
				if err != nil {
					return page{}, err
				}
				now := a.env.Now()
				rows := make([][]string, len(l.Items))
				for i, u := range l.Items {
					rows[i] = []string{u.Metadata.ID, orDash(u.Name), age(u.Metadata.Created, now), lockedCell(u.Locked)}
				}
				return page{list: l, rows: rows, meta: l.Metadata}, nil
			}),
		newGetCommand(a, "Show a user", "User",
			func(ctx context.Context, c *client.Client, id string) (any, error) { return c.GetUser(ctx, id) },
			func(w io.Writer, v any, now time.Time, _ style) error {
				u := v.(*core.User)
				return printPairs(w, [][2]string{{"ID:", u.Metadata.ID}, {"Name:", orDash(u.Name)},
					{"First seen:", ago(u.Metadata.Created, now)}, {"Locked:", lockedSince(u.Locked, now)}})
			}),
		newIDCommand(a, "user", "lock", "Lock a user out and end its sessions", "",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("User %q locked.\n", id), c.LockUser(ctx, id)
			}),
		newIDCommand(a, "user", "unlock", "Let a locked user log in again", "",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("User %q unlocked.\n", id), c.UnlockUser(ctx, id)
			}),
		newIDCommand(a, "user", "delete", "Delete a user with its sessions and roles", "Delete user %q with its sessions and roles?",
			func(ctx context.Context, c *client.Client, id string) (string, error) {
				return fmt.Sprintf("User %q deleted.\n", id), c.DeleteUser(ctx, id)
			}),
	)
	return cmd
}

// lockedSince is "no", or since when.
func lockedSince(t *time.Time, now time.Time) string {
	if t == nil {
		return "no"
	}
	return "yes, " + ago(t, now)
}

// printPairs writes label and value pairs as aligned lines.
func printPairs(w io.Writer, pairs [][2]string) error {
	t := newTable(w)
	for _, p := range pairs {
		t.row(p[0], p[1])
	}
	return t.flush()
}

func lockedCell(t *time.Time) string {
	if t == nil {
		return "no"
	}
	return "yes"
}

// idOptions serve the commands that act on one object by id.
type idOptions struct {
	app *app
	streams
	target  idArg
	yes     bool
	confirm string // a question to ask first, with the id in it; empty: none
	act     func(ctx context.Context, c *client.Client, id string) (string, error)
}

func newIDCommand(a *app, noun, name, short, confirm string, act func(context.Context, *client.Client, string) (string, error)) *cobra.Command {
	o := &idOptions{app: a, confirm: confirm, act: act, target: idArg{noun: noun}}
	cmd := &cobra.Command{
		Use:   name + " ID | " + name + " -i ID",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.target.bind(args)
		}, runID),
	}
	o.target.register(a, cmd)
	if confirm != "" {
		cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	}
	return cmd
}

func (o *idOptions) Validate() error { return o.target.Validate() }

func runID(ctx context.Context, o *idOptions) error {
	if o.confirm != "" && !o.yes {
		ok, err := confirm(o.streams, fmt.Sprintf(o.confirm, o.target.id))
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
	msg, err := o.act(ctx, c, o.target.id)
	if err != nil {
		return err
	}
	fmt.Fprint(o.out, msg)
	return nil
}

// listOptions serve the list commands: one page as a table (or the list
// object as YAML or JSON), and how to get the next.
type listOptions struct {
	app *app
	streams
	cont    string
	output  string
	kind    string
	cmdLine string // for the next-page hint
	empty   string
	headers []string
	fetch   func(ctx context.Context, c *client.Client, o *client.ListOptions) (page, error)
}

// page is one page of a list: the API's list object and its table rows.
type page struct {
	list any
	rows [][]string
	meta core.ListMeta
}

func newListCommand(a *app, short, kind, cmdLine, empty string, headers []string,
	fetch func(context.Context, *client.Client, *client.ListOptions) (page, error)) *cobra.Command {
	o := &listOptions{app: a, kind: kind, cmdLine: cmdLine, empty: empty, headers: headers, fetch: fetch}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   short,
		Args:    cobra.NoArgs,
		RunE:    runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runList),
	}
	cmd.Flags().StringVar(&o.cont, "continue", "", "the cursor printed by the previous page")
	outputFlag(cmd, &o.output)
	return cmd
}

func (o *listOptions) Validate() error { return checkFormat(o.output) }

func runList(ctx context.Context, o *listOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	p, err := o.fetch(ctx, c, &client.ListOptions{Limit: 100, Continue: o.cont})
	if err != nil {
		return err
	}
	if o.output != formatTable {
		return printObject(o.out, o.output, o.kind, p.list)
	}
	return printTable(o.streams, p.rows, o.headers, p.meta, o.empty, o.cmdLine, o.cont)
}

// printTable writes a page's rows under headers, or the empty message on a
// first page without rows, then the hint for the next page.
func printTable(s streams, rows [][]string, headers []string, meta core.ListMeta, empty, cmdLine, cont string) error {
	if len(rows) == 0 && cont == "" {
		fmt.Fprintln(s.out, empty)
		return nil
	}
	t := newTable(s.out, headers...)
	for _, r := range rows {
		t.row(r...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	morePages(s.errOut, cmdLine, meta)
	return nil
}
