package cli

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
)

// getOptions serve every `brig <noun> get ID` command: fetch one object and
// print it as a summary for people, or as YAML or JSON.
type getOptions struct {
	app *app
	streams
	target idArg
	output string
	kind   string
	fetch  func(ctx context.Context, c *client.Client, id string) (any, error)
	// summary writes the object for people; nil shows it as YAML.
	summary func(w io.Writer, v any, now time.Time, st style) error
}

func newGetCommand(a *app, short, kind string, fetch func(context.Context, *client.Client, string) (any, error),
	summary func(io.Writer, any, time.Time, style) error) *cobra.Command {
	o := &getOptions{app: a, kind: kind, fetch: fetch, summary: summary, target: idArg{noun: kindNoun(kind)}}
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.target.bind(args)
		}, runGet),
	}
	o.target.register(a, cmd)
	outputFlag(cmd, &o.output)
	return cmd
}

func (o *getOptions) Validate() error {
	if err := o.target.Validate(); err != nil {
		return err
	}
	return checkFormat(o.output)
}

func runGet(ctx context.Context, o *getOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	v, err := o.fetch(ctx, c, o.target.id)
	if err != nil {
		return err
	}
	if o.output == formatTable && o.summary != nil {
		return o.summary(o.out, v, o.app.env.Now(), o.app.style())
	}
	format := o.output
	if format == formatTable {
		format = formatYAML
	}
	return printObject(o.out, format, o.kind, v)
}
