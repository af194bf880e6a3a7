// Package cli is the `brig` command tree: log in to a Brigade API server,
// manage projects, create and follow events.
//
// Every command is an options struct filled from flags and arguments, a
// Validate method that checks them without touching the network, and a run
// function that does the work and writes to the command's output (so tests
// capture it). Nothing here is global: NewRootCommand builds the whole tree
// from an Env.
//
// Every get and list prints a table for people (outputFlag) or, with
// -o yaml|json, the API's own objects; a command that acts on one object
// takes its ID as the argument or with -i (idArg). strict makes unknown
// commands and flags fail with a suggestion, so add commands before it runs.
//
// Where the server and token come from, highest first: the BRIGADE_SERVER and
// BRIGADE_TOKEN environment variables, then the file `brig login` wrote
// ($BRIGADE_CONFIG, default ~/.brigade/config).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// Env is the world a command runs in. Zero fields get the process's own
// (os.Stdin, os.Stdout, os.Stderr, os.Getenv, time.Now).
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Terminal says a person types at Stdin, so brig may ask questions
	// (`brig project create` without -f). When false, it is detected: true
	// if Stdin is a terminal.
	Terminal bool
	// Color colours phases and log labels. When false, it is detected:
	// true if Stdout is a terminal. NO_COLOR (any value) or TERM=dumb
	// turn it off either way.
	Color bool
	// Progress shows a spinner on Stderr while brig waits for a worker to
	// start. When false, it is detected: true if Stderr is a terminal.
	Progress bool
	Getenv   func(string) string
	Now      func() time.Time
	// Version and Commit describe this build of brig.
	Version string
	Commit  string
	// HTTPClient, if set, carries every API request (tests, proxies).
	HTTPClient *http.Client
	// OpenBrowser opens a URL in the person's browser (`brig login
	// --browse`); the default runs the system's opener.
	OpenBrowser func(url string) error
}

func (e *Env) fill() {
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	if !e.Terminal {
		e.Terminal = isTerminal(e.Stdin)
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.OpenBrowser == nil {
		e.OpenBrowser = openBrowser
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if !e.Color {
		e.Color = isTerminal(e.Stdout)
	}
	if e.Getenv("NO_COLOR") != "" || e.Getenv("TERM") == "dumb" {
		e.Color = false
	}
	if !e.Progress {
		e.Progress = isTerminal(e.Stderr) && e.Getenv("TERM") != "dumb"
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Version == "" {
		e.Version = "devel"
	}
}

// app is what every command shares.
type app struct {
	env Env
}

// NewRootCommand builds the `brig` command tree.
func NewRootCommand(env Env) *cobra.Command {
	env.fill()
	a := &app{env: env}
	root := &cobra.Command{
		Use:   "brig",
		Short: "brig talks to a Brigade API server",
		Long: "brig talks to a Brigade API server: log in, manage projects, create events and follow them,\n" +
			"and run a local script with `brig exec`.\n\n" +
			"The server and token come from BRIGADE_SERVER and BRIGADE_TOKEN when set, otherwise from the file\n" +
			"`brig login` writes ($BRIGADE_CONFIG, default ~/.brigade/config).",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		newInitCommand(a),
		newLoginCommand(a),
		newLogoutCommand(a),
		newDashboardCommand(a),
		newWhoAmICommand(a),
		newProjectCommand(a),
		newEventCommand(a),
		newJobCommand(a),
		newAuditCommand(a),
		newExecCommand(a),
		newVersionCommand(a),
		newServiceAccountCommand(a),
		newUserCommand(a),
		newRoleCommand(a),
		newCompletionCommand(),
		newTermCommand(a),
	)
	strict(root)
	return root
}

// Run executes brig with args and returns the process exit code: 0, or 1
// after printing "brig: <message>" on stderr.
func Run(ctx context.Context, env Env, args []string) int {
	env.fill()
	root := NewRootCommand(env)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(env.Stderr, "brig: %s\n", describe(err))
		return 1
	}
	return 0
}

// validator is an options struct.
type validator interface{ Validate() error }

// runE wires an options struct into a cobra command: bind copies the
// arguments (and the command's writers) into o, then o is validated and run.
func runE[O validator](o O, bind func(cmd *cobra.Command, args []string), run func(context.Context, O) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if bind != nil {
			bind(cmd, args)
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return run(cmd.Context(), o)
	}
}

// streams are a command's writers and reader.
type streams struct {
	in     io.Reader
	out    io.Writer
	errOut io.Writer
}

func streamsOf(cmd *cobra.Command) streams {
	return streams{in: cmd.InOrStdin(), out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr()}
}

// errInterrupted is reported when the user interrupts brig.
var errInterrupted = errors.New("interrupted")
