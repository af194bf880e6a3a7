package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// execOptions are Brigade v1's `brig run` flags, where they make sense.
type execOptions struct {
	app *app
	streams
	project     string
	file        string // the local script
	config      string // a local brigade.json
	source      string
	typ         string
	payload     string
	payloadFile string
	commit      string
	ref         string
	level       string
	background  bool

	maxRank int // worker lines of a higher levelRank are hidden
}

func newExecCommand(a *app) *cobra.Command {
	o := &execOptions{app: a}
	cmd := &cobra.Command{
		Use:     "exec PROJECT [-f brigade.js]",
		Aliases: []string{"run"},
		Short:   "Run a local script as a project's worker and follow it",
		Long: "Send an event to a project and follow its worker and jobs until the worker ends; exit 0 only if\n" +
			"it SUCCEEDED.\n\n" +
			"With -f, the worker runs that local script (as brigade.ts if the file ends in .ts, else as\n" +
			"brigade.js) instead of the project's, for this event only; -c adds a local brigade.json. This\n" +
			"needs the PROJECT_DEVELOPER role on the project. Without -f, the project's own script runs.\n\n" +
			"The project must subscribe to the event's source and type (by default " + defaultEventSource + " and\n" +
			defaultEventType + "). Brigade v1's `brig run -p FILE` is `--payload-file FILE` here; -p takes the payload itself.",
		Example: "  brig exec demo -f brigade.js\n" +
			"  brig exec demo -f brigade.ts -e push --payload-file push.json\n" +
			"  brig run demo -f brigade.js --background",
		Args: cobra.ExactArgs(1),
		RunE: runE(o, func(cmd *cobra.Command, args []string) {
			o.streams = streamsOf(cmd)
			o.project = args[0]
		}, runExec),
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "a local script to run instead of the project's (brigade.js or brigade.ts)")
	f.StringVarP(&o.config, "config", "c", "", "a local brigade.json to go with the script")
	f.StringVarP(&o.source, "source", "s", defaultEventSource, "the event's source")
	f.StringVarP(&o.typ, "event", "e", defaultEventType, "the event's type")
	f.StringVarP(&o.payload, "payload", "p", "", "the event's payload")
	f.StringVar(&o.payloadFile, "payload-file", "", "a file holding the event's payload (- for standard input)")
	f.StringVarP(&o.commit, "commit", "m", "", "a git commit for the worker's checkout (projects with git only)")
	f.StringVarP(&o.ref, "ref", "r", "", "a git branch, tag or ref for the worker's checkout (projects with git only)")
	f.StringVarP(&o.level, "level", "l", "all", "hide the worker's lines below this level: all, debug, info, warn or error")
	f.BoolVarP(&o.background, "background", "b", false, "send the event and exit without following it")
	return cmd
}

func (o *execOptions) Validate() error {
	if o.payload != "" && o.payloadFile != "" {
		return errors.New("--payload and --payload-file cannot be used together: pick one")
	}
	if o.config != "" && o.file == "" {
		return errors.New("--config needs --file: brig exec PROJECT -f brigade.js -c brigade.json")
	}
	n := 0
	for _, f := range []string{o.file, o.config, o.payloadFile} {
		if f == "-" {
			n++
		}
	}
	if n > 1 {
		return errors.New("only one of --file, --config and --payload-file can read standard input (-)")
	}
	switch l := strings.ToUpper(o.level); l {
	case "ALL", "LOG": // v1's "log" showed everything
		o.maxRank = levelRank["DEBUG"]
	default:
		r, ok := levelRank[l]
		if !ok {
			return fmt.Errorf("--level %q is not a level: use all, debug, info, warn or error", o.level)
		}
		o.maxRank = r
	}
	return nil
}

func runExec(ctx context.Context, o *execOptions) error {
	ev := &core.Event{ProjectID: o.project, Source: o.source, Type: o.typ, Payload: o.payload}
	if o.payloadFile != "" {
		b, err := readInput(o.payloadFile, o.in)
		if err != nil {
			return err
		}
		ev.Payload = string(b)
	}
	if o.commit != "" || o.ref != "" {
		ev.Git = &core.GitDetails{Commit: o.commit, Ref: o.ref}
	}
	if o.file != "" {
		script, err := readInput(o.file, o.in)
		if err != nil {
			return err
		}
		ev.ConfigFiles = map[string]string{scriptName(o.file): string(script)}
		if o.config != "" {
			cfg, err := readInput(o.config, o.in)
			if err != nil {
				return err
			}
			ev.ConfigFiles["brigade.json"] = string(cfg)
		}
	}
	c, err := o.app.client()
	if err != nil {
		return err
	}
	events, err := c.CreateEvent(ctx, ev)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return fmt.Errorf("no event was created: project %q does not subscribe to source %q and type %q; "+
			"add a matching entry to its spec.eventSubscriptions, or pick another with -s/--source and -e/--event",
			o.project, o.source, o.typ)
	}
	id := events[0].Metadata.ID
	fmt.Fprintf(o.out, "Created event %q.\n", id)
	if o.background {
		fmt.Fprintf(o.out, "Follow it with `brig event logs %s --follow`; see how it ended with `brig event get %s`.\n", id, id)
		return nil
	}
	f := &follower{c: c, id: id, out: &lineWriter{w: o.out}, errOut: o.errOut, maxRank: o.maxRank}
	final, err := f.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped following event %q, which goes on without brig (`brig event cancel %s` stops it)", id, id)
		}
		return err
	}
	phase := final.Worker.Status.Phase
	fmt.Fprintf(o.out, "\nEvent %q %s.\n", id, phase)
	for _, j := range final.Worker.Jobs {
		jp := core.JobPhase("")
		if j.Status != nil {
			jp = j.Status.Phase
		}
		fmt.Fprintf(o.out, "  job %s %s\n", j.Name, orDash(string(jp)))
	}
	if phase != core.PhaseSucceeded {
		return fmt.Errorf("the worker of event %q ended %s; see `brig event get %s` and `brig event logs %s`", id, phase, id, id)
	}
	return nil
}

// follower prints an event's worker log and every job's log as they are
// written, until the worker ends. It learns of new jobs by reading the
// event whenever the worker logs a line or its status changes (and every
// few seconds, in case a job comes and goes silently).
type follower struct {
	c       *client.Client
	id      string
	out     *lineWriter
	errOut  io.Writer
	maxRank int

	wg     sync.WaitGroup
	poke   chan struct{}
	jobs   map[string]bool // jobs whose logs are followed
	failed error           // first failure to write output
	mu     sync.Mutex
}

// Pace of reading the event: at most every minGap, at least every maxGap.
const (
	minGap = 100 * time.Millisecond
	maxGap = 2 * time.Second
)

// run follows the event and returns it as it ended.
func (f *follower) run(ctx context.Context) (*core.Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel() // ends the streams still open after an error
		f.wg.Wait()
	}()
	f.poke = make(chan struct{}, 1)
	f.jobs = map[string]bool{}
	f.follow(ctx, "worker", client.LogOptions{Follow: true}, true)

	watchDone := make(chan error, 1)
	go func() {
		statuses, errs := f.c.WatchWorkerStatus(ctx, f.id)
		for range statuses {
			f.changed()
		}
		watchDone <- <-errs
	}()
	tick := time.NewTicker(maxGap)
	defer tick.Stop()
	for {
		last := time.Now()
		ev, err := f.c.GetEvent(ctx, f.id)
		if err != nil {
			return nil, fmt.Errorf("reading event %q: %w", f.id, err)
		}
		f.followJobs(ctx, ev)
		if ev.Worker.Status.Phase.IsTerminal() {
			break
		}
		select {
		case <-f.poke:
		case <-tick.C:
		case err := <-watchDone:
			watchDone = nil
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(f.errOut, "brig: watching the worker's status: %v (reading the event every %s instead)\n", err, maxGap)
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if wait := time.Until(last.Add(minGap)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	// Every log stream ends now that the worker and its jobs are done.
	f.wg.Wait()
	ev, err := f.c.GetEvent(ctx, f.id)
	if err != nil {
		return nil, fmt.Errorf("reading event %q: %w", f.id, err)
	}
	f.followJobs(ctx, ev) // a job created at the very end
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return ev, f.failed
}

// changed asks the loop to read the event again.
func (f *follower) changed() {
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// followJobs starts following the logs of jobs not followed yet.
func (f *follower) followJobs(ctx context.Context, ev *core.Event) {
	if ev.Worker == nil {
		return
	}
	for _, j := range ev.Worker.Jobs {
		if !f.jobs[j.Name] {
			f.jobs[j.Name] = true
			f.follow(ctx, j.Name, client.LogOptions{Job: j.Name, Follow: true}, false)
		}
	}
}

// follow prints one log stream, each line labelled; the stream waits on
// the server while its writer is still pending.
func (f *follower) follow(ctx context.Context, label string, opts client.LogOptions, worker bool) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		entries, errs := f.c.Logs(ctx, f.id, opts)
		for e := range entries {
			if worker {
				f.changed() // a worker line often means a job was created
				if !f.shows(e.Message) {
					continue
				}
			}
			if err := f.out.line(label, e.Message); err != nil {
				f.mu.Lock()
				if f.failed == nil {
					f.failed = fmt.Errorf("writing logs: %w", err)
				}
				f.mu.Unlock()
			}
		}
		if err := <-errs; err != nil && ctx.Err() == nil {
			fmt.Fprintf(f.errOut, "brig: the log of %s ended early: %s\n", label, describe(err))
		}
	}()
}

// workerLevel finds the level of a worker line in the winston format,
// "<time> [job: <name>] <LEVEL>: <message>".
var workerLevel = regexp.MustCompile(`^\S+ (?:\[job: [^\]]*\] )?(DEBUG|INFO|WARN|ERROR): `)

// shows reports whether a worker line passes --level; lines without a
// level (the script's console output) always do.
func (f *follower) shows(line string) bool {
	m := workerLevel.FindStringSubmatch(line)
	if m == nil {
		return true
	}
	return levelRank[m[1]] <= f.maxRank
}

// levelRank orders worker log levels from the most to the least severe.
var levelRank = map[string]int{"ERROR": 0, "WARN": 1, "INFO": 2, "DEBUG": 3}

// lineWriter writes whole labelled lines from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) line(label, msg string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := fmt.Fprintf(l.w, "[%s] %s\n", label, msg)
	return err
}
