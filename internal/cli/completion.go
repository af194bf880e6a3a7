package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

func newCompletionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script (completes commands, flags, and project and event IDs)",
		Long: "Print a script that makes the shell complete brig's commands and flags, and the IDs of\n" +
			"projects and events, which brig reads from the server it is logged in to.",
		Example: "  # bash, this shell only; add it to ~/.bashrc to keep it:\n" +
			"  source <(brig completion bash)\n" +
			"  # zsh:\n" +
			"  brig completion zsh > \"${fpath[1]}/_brig\"\n" +
			"  # fish:\n" +
			"  brig completion fish > ~/.config/fish/completions/brig.fish",
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}

// completionTimeout bounds how long a completion waits for the server, so
// a Tab on a dead connection comes back soon.
const completionTimeout = 3 * time.Second

// completeIDs completes the first argument with the IDs of projects or
// events on the server (nothing when not logged in or unreachable).
func (a *app) completeIDs(noun string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.completeNoun(cmd, noun, prefix)
	}
}

// completeFlag completes a flag's value with project or event IDs.
func (a *app) completeFlag(cmd *cobra.Command, flag, noun string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return a.completeNoun(cmd, noun, prefix)
	})
}

func (a *app) completeNoun(cmd *cobra.Command, noun, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	c, err := a.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	var out []cobra.Completion
	switch noun {
	case "project":
		l, err := c.ListProjects(ctx, &client.ListOptions{Limit: 100})
		if err == nil {
			for _, p := range l.Items {
				out = appendMatch(out, prefix, p.Metadata.ID, p.Description)
			}
		}
	case "event":
		project, _ := cmd.Flags().GetString("project") // "" when the command has no -p
		l, err := c.ListEvents(ctx, &client.EventSelector{ProjectID: project}, &client.ListOptions{Limit: 100})
		if err == nil {
			now := a.env.Now()
			for _, e := range l.Items {
				out = appendMatch(out, prefix, e.Metadata.ID,
					fmt.Sprintf("%s %s/%s %s, %s", e.ProjectID, e.Source, e.Type, eventPhase(&e), ago(e.Metadata.Created, now)))
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func appendMatch(out []cobra.Completion, prefix, id, desc string) []cobra.Completion {
	if !strings.HasPrefix(id, prefix) {
		return out
	}
	return append(out, cobra.CompletionWithDesc(id, oneLine(desc, 60)))
}

// eventPhase is an event's worker phase.
func eventPhase(e *core.Event) core.WorkerPhase {
	if e.Worker == nil || e.Worker.Status.Phase == "" {
		return core.PhaseUnknown
	}
	return e.Worker.Status.Phase
}
