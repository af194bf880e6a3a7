package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

type loginOptions struct {
	app *app
	streams
	server   string
	root     bool
	password string
	insecure bool
	browse   bool
}

func newLoginCommand(a *app) *cobra.Command {
	o := &loginOptions{app: a}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a Brigade API server",
		Long: "Log in to a Brigade API server and save the server and session token to $BRIGADE_CONFIG\n" +
			"(default ~/.brigade/config, readable by you only).\n\n" +
			"Without --root, you log in with the identity provider the server uses (OpenID Connect or\n" +
			"GitHub): brig prints the address to open in a browser (--browse opens it), and the saved\n" +
			"token works once you have logged in there.\n\n" +
			"With --root, the root password comes from --password, else from " + envRootPassword + ", else it is\n" +
			"asked for without echo when standard input is a terminal.",
		Example: "  brig login -s " + exampleServer + " --browse\n  brig login -s " + exampleServer + " --root",
		Args:    cobra.NoArgs,
		RunE: runE(o, func(cmd *cobra.Command, _ []string) {
			o.streams = streamsOf(cmd)
			if o.server == "" {
				o.server = a.env.Getenv(envServer)
			}
		}, runLogin),
	}
	f := cmd.Flags()
	f.StringVarP(&o.server, "server", "s", "", "address of the API server, e.g. "+exampleServer+" (default $"+envServer+")")
	f.BoolVarP(&o.root, "root", "r", false, "log in as root with the root password")
	f.StringVarP(&o.password, "password", "p", "", "the root password (default $"+envRootPassword+", or a prompt)")
	f.BoolVarP(&o.insecure, "insecure", "k", false, "accept a TLS certificate that cannot be verified")
	f.BoolVarP(&o.browse, "browse", "b", false, "open the identity provider's login page in your browser (not with --root)")
	return cmd
}

func (o *loginOptions) Validate() error {
	if strings.TrimSpace(o.server) == "" {
		return fmt.Errorf("--server is required: run `brig login -s %s --root`", exampleServer)
	}
	if o.root && o.browse {
		return errors.New("--browse opens the identity provider's login page; root logs in with a password: use one or the other")
	}
	return nil
}

func runLogin(ctx context.Context, o *loginOptions) error {
	cfg := config{Server: strings.TrimRight(strings.TrimSpace(o.server), "/"), Insecure: o.insecure}
	c := o.app.newClient(cfg)
	if !o.root {
		return o.thirdPartyLogin(ctx, c, cfg)
	}
	pw, err := o.rootPassword()
	if err != nil {
		return err
	}
	tok, err := c.CreateRootSession(ctx, pw)
	if err != nil {
		// A refused password is said in the server's words alone: brig's
		// usual "log in again" would only repeat what was just tried.
		var authn *core.AuthenticationError
		if errors.As(err, &authn) {
			return errors.New(authn.Error())
		}
		return err
	}
	cfg.Server = c.Address()
	cfg.Token = tok.Value
	path, err := o.app.configPath()
	if err != nil {
		return err
	}
	if err := saveConfig(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "Logged in to %s as root.\n", cfg.Server)
	return nil
}

// thirdPartyLogin starts a login with the server's identity provider and
// saves the token, which works once the person has logged in there.
func (o *loginOptions) thirdPartyLogin(ctx context.Context, c *client.Client, cfg config) error {
	details, err := c.CreateUserSession(ctx, "")
	if err != nil {
		var ns *core.NotSupportedError
		if errors.As(err, &ns) {
			return fmt.Errorf("%s", ns.Error())
		}
		return err
	}
	cfg.Server = c.Address()
	cfg.Token = details.Token
	path, err := o.app.configPath()
	if err != nil {
		return err
	}
	if err := saveConfig(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "To finish logging in to %s, open this address in a browser and log in there:\n\n    %s\n\n", cfg.Server, details.AuthURL)
	if o.browse {
		if err := o.app.env.OpenBrowser(details.AuthURL); err != nil {
			fmt.Fprintf(o.errOut, "brig: could not open a browser (%v): open the address above yourself\n", err)
		}
	}
	fmt.Fprintln(o.out, "Your token is saved: brig's commands work once you have logged in there.")
	return nil
}

// rootPassword takes --password, then BRIGADE_ROOT_PASSWORD, then asks on
// the terminal.
func (o *loginOptions) rootPassword() (string, error) {
	if o.password != "" {
		return o.password, nil
	}
	if pw := o.app.env.Getenv(envRootPassword); pw != "" {
		return pw, nil
	}
	if f, ok := o.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(o.errOut, "Root password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(o.errOut)
		if err != nil {
			return "", fmt.Errorf("reading the root password: %w", err)
		}
		if len(b) == 0 {
			return "", errors.New("no root password given")
		}
		return string(b), nil
	}
	return "", fmt.Errorf("no root password: pass -p/--password or set %s (standard input is not a terminal, so brig cannot ask)", envRootPassword)
}

type logoutOptions struct {
	app *app
	streams
}

func newLogoutCommand(a *app) *cobra.Command {
	o := &logoutOptions{app: a}
	return &cobra.Command{
		Use:   "logout",
		Short: "End the session and delete the saved login",
		Args:  cobra.NoArgs,
		RunE:  runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runLogout),
	}
}

func (o *logoutOptions) Validate() error { return nil }

func runLogout(ctx context.Context, o *logoutOptions) error {
	cfg, err := o.app.settings(true)
	if err != nil {
		return err
	}
	err = o.app.newClient(cfg).DeleteSession(ctx)
	var authn *core.AuthenticationError
	if err != nil && !core.IsNotFound(err) && !errors.As(err, &authn) {
		// An expired or deleted session needs no ending; anything else
		// (the server is down) leaves the file so the user can retry.
		return fmt.Errorf("ending the session: %w (the login file is kept; try again, or delete it by hand)", err)
	}
	path, err := o.app.configPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("deleting %s: %w", path, err)
	}
	fmt.Fprintln(o.out, "Logged out.")
	return nil
}
