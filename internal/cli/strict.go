package cli

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// strict makes every command of the tree refuse what it does not know, so
// a typo exits non-zero instead of printing help: a group command (one with
// subcommands and nothing to run itself) given an unknown subcommand, and
// any command given an unknown flag, fail with the names that come closest.
func strict(root *cobra.Command) {
	root.SetFlagErrorFunc(flagError)
	// Groups run only to refuse typos: their usage shows the subcommands,
	// not a "brig event [flags]" line of their own.
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(),
		"{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil {
				return err
			}
			if len(rest) > 0 && cmd.HasSubCommands() {
				return runGroup(cmd, rest)
			}
			return cmd.Help()
		},
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.SuggestionsMinimumDistance = 2
		switch {
		case c.HasSubCommands() && c.Run == nil && c.RunE == nil:
			c.Args = cobra.ArbitraryArgs
			c.RunE = runGroup
		case c.Args != nil:
			check := c.Args
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usageError(cmd, err.Error())
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// runGroup shows a group's help, or refuses an unknown subcommand.
func runGroup(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + orList(s) + "?"
	}
	return usageError(cmd, msg)
}

// usageError adds where to read about the command.
func usageError(cmd *cobra.Command, msg string) error {
	return fmt.Errorf("%s\nRun '%s --help' to see what it takes.", msg, cmd.CommandPath())
}

// flagError words pflag's complaints about flags, with a suggestion when a
// known flag's name is close to the one typed.
func flagError(cmd *cobra.Command, err error) error {
	var notExist *pflag.NotExistError
	if !errors.As(err, &notExist) {
		return usageError(cmd, err.Error())
	}
	typed := notExist.GetSpecifiedName()
	short := notExist.GetSpecifiedShortnames() != ""
	name := "--" + typed
	if short {
		name = "-" + typed
	}
	msg := fmt.Sprintf("unknown flag %s for %q", name, cmd.CommandPath())
	if !short {
		if s := flagSuggestions(cmd.Flags(), typed); len(s) > 0 {
			msg += "; did you mean " + orList(s) + "?"
		}
	}
	return usageError(cmd, msg)
}

// flagSuggestions lists the flags whose names are within two edits of
// typed, or start with it.
func flagSuggestions(fs *pflag.FlagSet, typed string) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if editDistance(strings.ToLower(typed), f.Name) <= 2 || strings.HasPrefix(f.Name, typed) {
			out = append(out, "--"+f.Name)
		}
	})
	sort.Strings(out)
	return out
}

// orList joins names as "a", "a or b", "a, b or c".
func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
