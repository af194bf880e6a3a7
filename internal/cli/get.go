package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
)

// getOptions serve every `brig <noun> get ID` command: fetch one object and
// print it as YAML or JSON.
type getOptions struct {
	app *app
	streams
	id     string
	output string
	kind   string
	fetch  func(ctx context.Context, c *client.Client, id string) (any, error)
}

func newGetCommand(a *app, short, kind string, fetch func(context.Context, *client.Client, string) (any, error)) *cobra.Command {
	o := &getOptions{app: a, kind: kind, fetch: fetch}
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.id = args[0]
		}, runGet),
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", formatYAML, "yaml or json")
	return cmd
}

func (o *getOptions) Validate() error { return checkFormat(o.output) }

func runGet(ctx context.Context, o *getOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	v, err := o.fetch(ctx, c, o.id)
	if err != nil {
		return err
	}
	return printObject(o.out, o.output, o.kind, v)
}
