package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/core"
)

type initOptions struct {
	app *app
	streams
	id    string
	lang  string
	git   string
	dir   string
	force bool
}

func newInitCommand(a *app) *cobra.Command {
	o := &initOptions{app: a, dir: "."}
	cmd := &cobra.Command{
		Use:   "init -i PROJECT [FOLDER]",
		Short: "Start a project folder: project.yaml and a .brigade script that run as they are",
		Long: "Write a project.yaml and a .brigade/brigade.ts (or .js with -l js) into FOLDER (default: the\n" +
			"current one). The project subscribes to " + defaultEventSource + " " + defaultEventType + " events, and its script runs one\n" +
			"job that says hello. Without -g the script is also inside project.yaml, so it runs as it is:\n\n" +
			"  brig project create -f project.yaml\n" +
			"  brig event create -p PROJECT --follow\n\n" +
			"Try changes to the script with `brig exec PROJECT -f .brigade/brigade.ts`. With -g, the project's\n" +
			"worker reads .brigade/ from that git repository instead: commit the folder there.",
		Example: "  brig init -i hello-world\n  brig init -i my-app -l js -g https://github.com/me/my-app.git my-app",
		Args:    cobra.MaximumNArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			if len(args) == 1 {
				o.dir = args[0]
			}
		}, runInit),
	}
	f := cmd.Flags()
	f.StringVarP(&o.id, "id", "i", "", "the project's ID: 3-63 lower-case letters, digits and dashes (required)")
	f.StringVarP(&o.lang, "language", "l", "ts", "the script's language: ts (TypeScript) or js (JavaScript)")
	f.StringVarP(&o.git, "git", "g", "", "a git repository the worker clones to find .brigade/ (default: the script is in project.yaml)")
	f.BoolVar(&o.force, "force", false, "overwrite files that exist")
	return cmd
}

func (o *initOptions) Validate() error {
	if o.id == "" {
		return errors.New("--id (-i) is required: brig init -i my-project")
	}
	if !projectIDPattern.MatchString(o.id) {
		return fmt.Errorf("--id %q: use 3 to 63 lower-case letters, digits and dashes, starting with a letter, e.g. my-project", o.id)
	}
	switch strings.ToLower(o.lang) {
	case "ts", "typescript":
		o.lang = "ts"
	case "js", "javascript":
		o.lang = "js"
	default:
		return fmt.Errorf("--language %q: use ts (TypeScript) or js (JavaScript)", o.lang)
	}
	if o.git != "" && !strings.Contains(o.git, "://") && !strings.HasPrefix(o.git, "git@") {
		return fmt.Errorf("--git %q is not a clone URL: use https://..., ssh://... or git@host:path", o.git)
	}
	return nil
}

func runInit(_ context.Context, o *initOptions) error {
	scriptName := "brigade." + o.lang
	script := initScripts[o.lang]
	files := []struct{ path, content string }{
		{filepath.Join(o.dir, ".brigade", scriptName), script},
		{filepath.Join(o.dir, "project.yaml"), o.projectYAML(scriptName, script)},
	}
	if !o.force {
		for _, f := range files {
			if _, err := os.Stat(f.path); err == nil {
				return fmt.Errorf("%s exists: brig init leaves it alone (add --force to overwrite it)", f.path)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(o.dir, ".brigade"), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Join(o.dir, ".brigade"), err)
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, []byte(f.content), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.path, err)
		}
		fmt.Fprintf(o.out, "Wrote %s\n", f.path)
	}
	project := filepath.Join(o.dir, "project.yaml")
	fmt.Fprintf(o.out, "\nNext:\n  brig project create -f %s\n  brig event create -p %s --follow\n", project, o.id)
	if o.git != "" {
		fmt.Fprintf(o.out, "(commit %s to %s first: the worker reads it from there)\n",
			filepath.Join(o.dir, ".brigade"), o.git)
	}
	return nil
}

// projectYAML is the project file: subscribed to brig's own events, with
// the script inside it or in git.
func (o *initOptions) projectYAML(scriptName, script string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: %s\nkind: Project\nmetadata:\n  id: %s\n", core.APIVersion, o.id)
	fmt.Fprintf(&b, "description: %s, made by brig init\n", o.id)
	fmt.Fprintf(&b, "spec:\n  eventSubscriptions:\n  - source: %s\n    types:\n    - %s\n", defaultEventSource, defaultEventType)
	b.WriteString("  workerTemplate:\n    logLevel: INFO\n")
	if o.git != "" {
		fmt.Fprintf(&b, "    git:\n      cloneURL: %s\n    configFilesDirectory: .brigade\n", o.git)
		return b.String()
	}
	fmt.Fprintf(&b, "    # A copy of .brigade/%s: after changing that file, copy it here and\n", scriptName)
	b.WriteString("    # run `brig project update -f project.yaml`.\n")
	fmt.Fprintf(&b, "    defaultConfigFiles:\n      %s: |\n", scriptName)
	for _, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("        " + line + "\n")
	}
	return b.String()
}

// initScripts are the scripts brig init writes: one job that says hello.
var initScripts = map[string]string{
	"ts": `import { events, Job } from "@brigadecore/brigadier";

// Runs for every event of source "brigade.sh/cli" and type "exec",
// e.g. from: brig event create -p PROJECT --follow
events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("hello", "debian:12-slim", event);
  job.primaryContainer.command = ["echo"];
  job.primaryContainer.arguments = ["Hello, World!"];
  await job.run();
});

events.process();
`,
	"js": `const { events, Job } = require("@brigadecore/brigadier");

// Runs for every event of source "brigade.sh/cli" and type "exec",
// e.g. from: brig event create -p PROJECT --follow
events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("hello", "debian:12-slim", event);
  job.primaryContainer.command = ["echo"];
  job.primaryContainer.arguments = ["Hello, World!"];
  await job.run();
});

events.process();
`,
}

type whoAmIOptions struct {
	app *app
	streams
	output string
}

func newWhoAmICommand(a *app) *cobra.Command {
	o := &whoAmIOptions{app: a}
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who brig is logged in as, and to which server",
		Args:  cobra.NoArgs,
		RunE:  runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runWhoAmI),
	}
	outputFlag(cmd, &o.output)
	return cmd
}

func (o *whoAmIOptions) Validate() error { return checkFormat(o.output) }

func runWhoAmI(ctx context.Context, o *whoAmIOptions) error {
	cfg, err := o.app.settings(true)
	if err != nil {
		return err
	}
	p, err := o.app.newClient(cfg).WhoAmI(ctx)
	if err != nil {
		return err
	}
	if o.output != formatTable {
		return printObject(o.out, o.output, "PrincipalReference", p)
	}
	who := string(p.Type)
	if p.ID != "" {
		who += " " + p.ID
	}
	fmt.Fprintf(o.out, "%s on %s\n", who, cfg.Server)
	return nil
}
