// Package tui is `brig term`: a terminal UI over a Brigade API server, in
// the spirit of brigadeterm. It goes from projects to a project's events,
// to an event's jobs drawn as a timeline (one bar per job on a shared time
// axis, coloured by phase), to a job's or the worker's log, following it.
// Everything on screen is polled from the API (about once a second) or
// streamed (logs), so it moves while the event runs.
//
// The drawing is pure: Bar and Axis turn timestamps into a row of cells of
// a given width, and the model renders from what it last fetched, so both
// are tested without a terminal.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// API is what the UI asks of the server; *client.Client is one.
type API interface {
	Address() string
	ListProjects(ctx context.Context, opts *client.ListOptions) (*client.List[core.Project], error)
	ListEvents(ctx context.Context, sel *client.EventSelector, opts *client.ListOptions) (*client.List[core.Event], error)
	GetEvent(ctx context.Context, id string) (*core.Event, error)
	CancelEvent(ctx context.Context, id string) error
	RetryEvent(ctx context.Context, id string) (*core.Event, error)
	Logs(ctx context.Context, eventID string, opts client.LogOptions) (<-chan core.LogEntry, <-chan error)
}

// Options configure Run.
type Options struct {
	API API
	// In is where keys come from and Out the screen: a terminal.
	In  io.Reader
	Out io.Writer
	// Color false draws without colour (NO_COLOR, or not a colour
	// terminal); the layout is the same.
	Color bool
	// Project opens that project's events first; Event opens that event's
	// timeline first (esc then goes to its project's events).
	Project, Event string
	// Now is the clock (default time.Now); PollEvery how often what is on
	// screen is fetched again (default 1s).
	Now       func() time.Time
	PollEvery time.Duration
}

// Run shows the UI until the user quits or ctx ends.
func Run(ctx context.Context, o Options) error {
	if o.API == nil || o.In == nil || o.Out == nil {
		return errors.New("tui: Options need API, In and Out")
	}
	m := newModel(ctx, o, newStyles(o.Color))
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(o.In), tea.WithOutput(o.Out)}
	if !o.Color {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	p := tea.NewProgram(m, opts...)
	_, err := p.Run()
	m.stopLogs()
	switch {
	case err == nil, errors.Is(err, tea.ErrInterrupted):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		return fmt.Errorf("running the terminal UI: %w", err)
	}
}
