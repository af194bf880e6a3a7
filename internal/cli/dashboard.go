package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/core"
)

type dashboardOptions struct {
	app *app
	streams
	print   bool
	project string
	event   string
}

func newDashboardCommand(a *app) *cobra.Command {
	o := &dashboardOptions{app: a}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Open the server's web dashboard in your browser, signed in",
		Long: "Open the dashboard of the server you are logged in to, signed in as your brig session.\n\n" +
			"brig asks the server for a one-time sign-in code that works for one minute, and opens\n" +
			"<server>/signin?code=... in your browser; no token of yours goes into the address.\n" +
			"Where there is no browser to open (or with --print), brig prints the address instead:\n" +
			"open it within a minute.",
		Example: "  brig dashboard\n  brig dashboard --event 01a2...\n  brig dashboard --print",
		Args:    cobra.NoArgs,
		RunE:    runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runDashboard),
	}
	f := cmd.Flags()
	f.BoolVar(&o.print, "print", false, "print the sign-in address instead of opening a browser")
	f.StringVarP(&o.project, "project", "p", "", "open this project's page")
	f.StringVarP(&o.event, "event", "e", "", "open this event's page")
	return cmd
}

func (o *dashboardOptions) Validate() error {
	if o.project != "" && o.event != "" {
		return errors.New("--project and --event each name a page to open: give one of them")
	}
	return nil
}

func runDashboard(ctx context.Context, o *dashboardOptions) error {
	cfg, err := o.app.settings(true)
	if err != nil {
		return err
	}
	c := o.app.newClient(cfg)
	page := "/"
	switch {
	case o.project != "":
		page = "/projects/" + url.PathEscape(o.project)
	case o.event != "":
		page = "/events/" + url.PathEscape(o.event)
	}
	base := strings.TrimRight(c.Address(), "/")
	address := base + page
	code, err := c.CreateSignInCode(ctx)
	var nf *core.NotFoundError
	switch {
	case errors.As(err, &nf):
		// A server from before sign-in codes: its dashboard, if any,
		// asks for the password.
		fmt.Fprintf(o.errOut, "brig: %s cannot sign a browser in for you; sign in with the root password there\n", base)
	case err != nil:
		return fmt.Errorf("asking the server for a dashboard sign-in code: %w", err)
	default:
		address = base + "/signin?" + url.Values{"code": {code.Code}, "next": {page}}.Encode()
	}
	if !o.print {
		err := o.app.env.OpenBrowser(address)
		if err == nil {
			// The opener may still find no browser to start (a machine
			// without a display): the address is there to copy.
			fmt.Fprintf(o.out, "Opening the dashboard of %s in your browser. If no browser opens, open this address\n"+
				"within a minute (it works once):\n\n    %s\n\n", base, address)
			return nil
		}
		fmt.Fprintf(o.errOut, "brig: could not open a browser (%v)\n", err)
	}
	fmt.Fprintf(o.out, "Open this address in a browser within a minute (it works once):\n\n    %s\n\n", address)
	return nil
}
