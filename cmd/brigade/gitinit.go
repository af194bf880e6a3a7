package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/worker"
)

func newGitInitCmd() *cobra.Command {
	var eventFile, dir string
	cmd := &cobra.Command{
		Use:   "git-init",
		Short: "Check an event's git source out (the init container of worker and job pods)",
		Long: `Clone the git source an event document names (worker.git: cloneURL, then
commit, else ref, else the remote's default branch; submodules when
initSubmodules is true; credentials from the project's gitSSHKey or
gitPassword secret) into the source folder, as Brigade's git-initializer did.
The kubernetes substrate runs it in an init container of worker and job pods,
with the event's Secret mounted at /var/event and the source volume at /var/vcs.

The git program must be installed (our image has it). What git says goes to
standard output; a failed checkout exits non-zero with what went wrong.
--event-file can also be set with BRIGADE_EVENT_FILE, --source-dir with
BRIGADE_SOURCE_DIR.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return gitInit(ctx, eventFile, dir, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&eventFile, "event-file", core.WorkerEventFile, "the event document (event.json) to read")
	cmd.Flags().StringVar(&dir, "source-dir", core.WorkerSourceDir, "where the source is checked out (created if missing; must be empty "+
		"or hold an earlier checkout, which is replaced)")
	return cmd
}

// gitInit checks out the source the event document at eventFile names
// into dir, writing git's lines to out.
func gitInit(ctx context.Context, eventFile, dir string, out io.Writer) error {
	data, err := os.ReadFile(eventFile)
	if err != nil {
		return fmt.Errorf("reading the event document: %w (in a pod it is the event's Secret, mounted at %s; "+
			"elsewhere pass its path with --event-file)", err, core.WorkerEventFile)
	}
	var doc core.EventDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("the event document %s is not valid JSON: %w", eventFile, err)
	}
	g := doc.Worker.Git
	if g == nil || g.CloneURL == "" {
		fmt.Fprintf(out, "event %s: the project has no git source (worker.git.cloneURL is empty); nothing to check out\n", doc.ID)
		return nil
	}
	if err := prepareSourceDir(dir); err != nil {
		return err
	}
	what := "the default branch"
	switch {
	case g.Commit != "":
		what = "commit " + g.Commit
	case g.Ref != "":
		what = "ref " + g.Ref
	}
	err = worker.Checkout(ctx, data, dir, func(line string) { fmt.Fprintln(out, line) })
	if err != nil {
		return fmt.Errorf("checking out %s of %s into %s: %w (what git said is above)", what, g.CloneURL, dir, err)
	}
	fmt.Fprintf(out, "checked out %s of %s into %s\n", what, g.CloneURL, dir)
	return nil
}

// prepareSourceDir makes sure dir can take a fresh checkout: missing or
// empty is fine; an earlier checkout (a pod's init container that runs
// again keeps its volume) is removed; anything else is refused, so that a
// wrong --source-dir deletes nothing.
func prepareSourceDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the source folder %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		return fmt.Errorf("the source folder %s is not empty and holds no earlier checkout: "+
			"give git-init an empty or missing folder with --source-dir", dir)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("removing the earlier checkout in %s: %w", dir, err)
		}
	}
	return nil
}
