package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// newSecretCommand is `brig project secret`, with Brigade's subcommands
// and flags.
func newSecretCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "secret",
		Aliases: []string{"secrets"},
		Short:   "Set, list and unset a project's secrets (its scripts read them as project.secrets)",
	}
	cmd.AddCommand(newSecretListCommand(a), newSecretSetCommand(a), newSecretUnsetCommand(a))
	return cmd
}

type secretListOptions struct {
	app *app
	streams
	project idArg
	cont    string
	output  string
}

func newSecretListCommand(a *app) *cobra.Command {
	o := &secretListOptions{app: a, project: idArg{noun: "project"}}
	cmd := &cobra.Command{
		Use:     "list PROJECT | list -i PROJECT",
		Aliases: []string{"ls"},
		Short:   "List a project's secret keys (values are never shown)",
		Args:    cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.project.bind(args)
		}, runSecretList),
	}
	o.project.register(a, cmd)
	cmd.Flags().StringVar(&o.cont, "continue", "", "the cursor printed by the previous page")
	outputFlag(cmd, &o.output)
	return cmd
}

func (o *secretListOptions) Validate() error {
	if err := o.project.Validate(); err != nil {
		return err
	}
	return checkFormat(o.output)
}

func runSecretList(ctx context.Context, o *secretListOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	l, err := c.ListSecrets(ctx, o.project.id, &client.ListOptions{Limit: 100, Continue: o.cont})
	if err != nil {
		return err
	}
	if o.output != formatTable {
		if l.Items == nil {
			l.Items = []core.Secret{}
		}
		return printObject(o.out, o.output, "SecretList", l)
	}
	rows := make([][]string, len(l.Items))
	for i, s := range l.Items {
		rows[i] = []string{s.Key, "*** (redacted)"}
	}
	return printTable(o.streams, rows, []string{"KEY", "VALUE"}, l.Metadata,
		fmt.Sprintf("Project %q has no secrets. Set one with `brig project secret set %s --set KEY=VALUE`.", o.project.id, o.project.id),
		"brig project secret list "+o.project.id, o.cont)
}

type secretSetOptions struct {
	app *app
	streams
	project idArg
	sets    []string
	file    string
	secrets map[string]string
}

func newSecretSetCommand(a *app) *cobra.Command {
	o := &secretSetOptions{app: a, project: idArg{noun: "project"}}
	cmd := &cobra.Command{
		Use:   "set PROJECT --set KEY=VALUE... | set PROJECT -f secrets.yaml",
		Short: "Set (or replace) one or more of a project's secrets",
		Long: "Set one or more of a project's secrets, from --set KEY=VALUE flags and from a flat YAML or JSON\n" +
			"file of keys and values (\"-\" reads standard input). --set wins over the file for the same key.",
		Example: "  brig project secret set demo --set github-token=abc123\n" +
			"  brig project secret set -i demo -f secrets.yaml",
		Args: cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.project.bind(args)
		}, runSecretSet),
	}
	o.project.register(a, cmd)
	cmd.Flags().StringArrayVarP(&o.sets, "set", "s", nil, "a secret as KEY=VALUE (repeatable)")
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "a flat YAML or JSON file of secrets (- for standard input)")
	return cmd
}

func (o *secretSetOptions) Validate() error {
	if err := o.project.Validate(); err != nil {
		return err
	}
	if len(o.sets) == 0 && o.file == "" {
		return errors.New("no secrets given: add --set KEY=VALUE (repeatable) or -f secrets.yaml")
	}
	var err error
	o.secrets, err = keyValues("--set", o.sets)
	return err
}

func runSecretSet(ctx context.Context, o *secretSetOptions) error {
	secrets := map[string]string{}
	if o.file != "" {
		data, err := readInput(o.file, o.in)
		if err != nil {
			return err
		}
		if secrets, err = flatSecrets(o.file, data); err != nil {
			return err
		}
	}
	for k, v := range o.secrets {
		secrets[k] = v
	}
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	c, err := o.app.client()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := c.SetSecret(ctx, o.project.id, core.Secret{Key: k, Value: secrets[k]}); err != nil {
			return fmt.Errorf("setting secret %q: %w", k, err)
		}
		fmt.Fprintf(o.out, "Set secret %q of project %q.\n", k, o.project.id)
	}
	return nil
}

// flatSecrets reads a YAML or JSON map of keys to scalar values.
func flatSecrets(source string, data []byte) (map[string]string, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not valid YAML or JSON: %w", source, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(j, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("%s must hold a flat map of secret keys to values, e.g. `github-token: abc123`", source)
	}
	out := make(map[string]string, len(raw))
	var nested []string
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64, bool:
			b, _ := json.Marshal(v)
			out[k] = string(b)
		default:
			nested = append(nested, k)
		}
	}
	if len(nested) > 0 {
		sort.Strings(nested)
		return nil, fmt.Errorf("%s: the values of %s are not text: secrets are flat KEY: VALUE pairs", source, strings.Join(nested, ", "))
	}
	return out, nil
}

type secretUnsetOptions struct {
	app *app
	streams
	project idArg
	keys    []string
}

func newSecretUnsetCommand(a *app) *cobra.Command {
	o := &secretUnsetOptions{app: a, project: idArg{noun: "project"}}
	cmd := &cobra.Command{
		Use:     "unset PROJECT -u KEY...",
		Short:   "Remove one or more of a project's secrets",
		Example: "  brig project secret unset demo -u github-token -u other",
		Args:    cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.project.bind(args)
		}, runSecretUnset),
	}
	o.project.register(a, cmd)
	cmd.Flags().StringArrayVarP(&o.keys, "unset", "u", nil, "the key of a secret to remove (repeatable; required)")
	return cmd
}

func (o *secretUnsetOptions) Validate() error {
	if err := o.project.Validate(); err != nil {
		return err
	}
	if len(o.keys) == 0 {
		return errors.New("which secrets? name each with -u KEY (--unset)")
	}
	return nil
}

func runSecretUnset(ctx context.Context, o *secretUnsetOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	for _, k := range o.keys {
		if err := c.UnsetSecret(ctx, o.project.id, k); err != nil {
			return fmt.Errorf("unsetting secret %q: %w", k, err)
		}
		fmt.Fprintf(o.out, "Unset secret %q of project %q.\n", k, o.project.id)
	}
	return nil
}
