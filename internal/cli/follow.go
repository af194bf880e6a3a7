package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// workerLabel prefixes the worker's own log lines.
const workerLabel = "worker"

// followSettings tune what a follow shows.
type followSettings struct {
	level      string // worker lines less severe than this level are hidden; "": none
	timestamps bool   // each line starts with its time
}

// followToEnd follows an event until its worker ends, prints how it and
// each job ended, and returns an error unless the worker SUCCEEDED.
func (a *app) followToEnd(ctx context.Context, c *client.Client, s streams, id string, set followSettings) error {
	f := a.newFollower(c, s, id, set)
	final, err := f.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped following event %q, which goes on without brig (`brig event cancel %s` stops it)", id, id)
		}
		return err
	}
	return a.printOutcome(s.out, final)
}

// printOutcome writes the end-of-run summary: the event's phase and
// duration, then each job's phase, duration and result in words.
func (a *app) printOutcome(w io.Writer, ev *core.Event) error {
	now, st := a.env.Now(), a.style()
	ws := ev.Worker.Status
	fmt.Fprintf(w, "\nEvent %q %s after %s.\n", ev.Metadata.ID, st.phase(ws.Phase), duration(ws.Started, ws.Ended, now))
	if len(ev.Worker.Jobs) > 0 {
		t := newTable(w, "  JOB", "PHASE", "DURATION", "RESULT")
		for _, j := range ev.Worker.Jobs {
			t.row(jobRow(ev.Metadata.ID, j, now, st)...)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if ws.Phase == core.PhaseSucceeded {
		return nil
	}
	return fmt.Errorf("event %q %s: %s; see `brig event get %s` and `brig event logs %s`",
		ev.Metadata.ID, ws.Phase, workerResult(ev, now), ev.Metadata.ID, ev.Metadata.ID)
}

// jobRow is a job's summary row: "  name", phase, duration, result.
func jobRow(eventID string, j core.Job, now time.Time, st style) []string {
	var s core.JobStatus
	if j.Status != nil {
		s = *j.Status
	}
	phase := s.Phase
	if phase == "" {
		phase = core.PhaseUnknown
	}
	return []string{"  " + j.Name, st.phase(phase), duration(s.Started, s.Ended, now), cell(jobResult(eventID, j, now))}
}

// cell shortens a result for a table: its first clause, at most 100
// characters (the job's log has all of it).
func cell(result string) string {
	first, _, _ := strings.Cut(result, "; check ")
	return oneLine(first, 100)
}

// describeExit is a job's exit code in words.
func describeExit(code int, reason string) string {
	if code == 0 {
		return "exit code 0"
	}
	words := fmt.Sprintf("non-zero exit code %d", code)
	// The substrate's reason may explain the code: "exit code 127
	// (command not found; see the log)".
	if m := reasonDetail.FindStringSubmatch(reason); m != nil {
		words += " (" + m[1] + ")"
	}
	return words
}

var reasonDetail = regexp.MustCompile(`^exit code -?\d+ \((.*)\)$`)

// jobResult says in words how a job ended, or that it has not.
func jobResult(eventID string, j core.Job, now time.Time) string {
	if j.Status == nil {
		return "not started"
	}
	s := j.Status
	switch s.Phase {
	case core.PhaseSucceeded:
		if s.ExitCode != nil {
			return describeExit(*s.ExitCode, s.Reason)
		}
		return "-"
	case core.PhaseFailed:
		switch {
		case s.ExitCode != nil:
			return describeExit(*s.ExitCode, s.Reason)
		case s.Reason != "":
			return s.Reason
		}
		return fmt.Sprintf("failed; `brig event logs %s -j %s` may say why", eventID, j.Name)
	case core.PhaseTimedOut:
		if d, err := time.ParseDuration(j.Spec.TimeoutDuration); err == nil && j.Spec.TimeoutDuration != "" {
			return "timed out after " + shortDuration(d)
		}
		return "timed out after " + duration(s.Started, s.Ended, now)
	case core.PhaseCanceled:
		return "canceled"
	case core.PhaseAborted:
		return "aborted: its event was canceled or its worker ended first"
	case core.PhaseSchedulingFailed:
		return "could not be scheduled"
	case core.PhasePending, core.PhaseStarting:
		return "waiting to start"
	case core.PhaseRunning:
		return "still running"
	}
	return "unknown: the server lost track of it"
}

// workerResult says why an event's worker did not succeed.
func workerResult(ev *core.Event, now time.Time) string {
	for _, j := range ev.Worker.Jobs {
		if j.Status != nil && (j.Status.Phase == core.PhaseFailed || j.Status.Phase == core.PhaseTimedOut) && !j.Spec.Fallible {
			return fmt.Sprintf("job %s: %s", j.Name, jobResult(ev.Metadata.ID, j, now))
		}
	}
	ws := ev.Worker.Status
	switch ws.Phase {
	case core.PhaseTimedOut:
		return "the worker timed out after " + duration(ws.Started, ws.Ended, now)
	case core.PhaseCanceled:
		return "canceled before its worker ran"
	case core.PhaseAborted:
		return "the worker was aborted"
	case core.PhaseSchedulingFailed:
		return "the worker could not be scheduled"
	case core.PhaseFailed:
		return "the worker's script failed (its log above says why)"
	}
	return "the worker ended " + string(ws.Phase)
}

// follower prints an event's worker log and every job's log as they are
// written, until the worker ends. It learns of new jobs by reading the
// event whenever the worker logs a line or its status changes (and every
// few seconds, in case a job comes and goes silently).
type follower struct {
	c      *client.Client
	id     string
	out    *lineWriter
	errOut io.Writer
	set    followSettings

	wg     sync.WaitGroup
	poke   chan struct{}
	jobs   map[string]bool // jobs whose logs are followed
	failed error           // first failure to write output
	mu     sync.Mutex
}

func (a *app) newFollower(c *client.Client, s streams, id string, set followSettings) *follower {
	lw := &lineWriter{w: s.out, style: a.style(), turns: map[string]int{}, timestamps: set.timestamps}
	if a.env.Progress {
		lw.spin = &spinner{w: s.errOut, since: time.Now(), text: "waiting for the worker to start"}
	}
	return &follower{c: c, id: id, out: lw, errOut: s.errOut, set: set}
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
		f.out.stopSpinner()
	}()
	f.poke = make(chan struct{}, 1)
	f.jobs = map[string]bool{}
	f.out.startSpinner(ctx)
	f.follow(ctx, workerLabel, client.LogOptions{Follow: true}, true)

	watchDone := make(chan error, 1)
	go func() {
		statuses, errs := f.c.WatchWorkerStatus(ctx, f.id)
		for st := range statuses {
			f.out.setPhase(st.Phase)
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
				f.out.stopSpinner()
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
	f.out.stopSpinner()
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
			if err := f.out.line(label, e); err != nil {
				f.mu.Lock()
				if f.failed == nil {
					f.failed = fmt.Errorf("writing logs: %w", err)
				}
				f.mu.Unlock()
			}
		}
		if err := <-errs; err != nil && ctx.Err() == nil {
			f.out.stopSpinner()
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
	if m == nil || f.set.level == "" {
		return true
	}
	return levelRank[m[1]] <= levelRank[f.set.level]
}

// levelRank orders worker log levels from the most to the least severe.
var levelRank = map[string]int{"ERROR": 0, "WARN": 1, "INFO": 2, "DEBUG": 3}

// lineWriter writes whole labelled lines from several goroutines, and
// the spinner while nothing else is written.
type lineWriter struct {
	mu         sync.Mutex
	w          io.Writer
	style      style
	turns      map[string]int // each label's colour
	timestamps bool
	spin       *spinner // nil: no spinner
}

func (l *lineWriter) line(label string, e core.LogEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearSpinner()
	turn, ok := l.turns[label]
	if !ok && label != workerLabel { // the worker has its own look
		turn = len(l.turns)
		l.turns[label] = turn
	}
	prefix := l.style.label(label, turn) + " "
	if l.timestamps {
		prefix = timestamp(e.Time) + " " + prefix
	}
	_, err := fmt.Fprintf(l.w, "%s%s\n", prefix, e.Message)
	return err
}

// timestamp is a log line's time for --timestamps.
func timestamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// spinner is the progress line on a terminal while brig waits for a
// worker to start; the first log line or a running worker ends it.
type spinner struct {
	w     io.Writer
	since time.Time
	text  string
	phase core.WorkerPhase
	shown bool
	done  bool
	turn  int
}

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (l *lineWriter) startSpinner(ctx context.Context) {
	if l.spin == nil {
		return
	}
	go func() {
		tick := time.NewTicker(120 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			l.mu.Lock()
			s := l.spin
			if s.done {
				l.mu.Unlock()
				return
			}
			s.turn++
			phase := ""
			if s.phase != "" {
				phase = string(s.phase) + ", "
			}
			fmt.Fprintf(s.w, "\r\x1b[K%s %s (%s%s)", spinFrames[s.turn%len(spinFrames)], s.text, phase,
				shortDuration(time.Since(s.since).Truncate(time.Second)))
			s.shown = true
			l.mu.Unlock()
		}
	}()
}

// setPhase shows the worker's phase; once it runs, the spinner ends.
func (l *lineWriter) setPhase(p core.WorkerPhase) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.spin == nil {
		return
	}
	l.spin.phase = p
	if p != core.PhasePending && p != core.PhaseStarting {
		l.clearSpinner()
	}
}

func (l *lineWriter) stopSpinner() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearSpinner()
}

// clearSpinner ends the spinner and erases its line; l.mu is held.
func (l *lineWriter) clearSpinner() {
	if l.spin == nil || l.spin.done {
		return
	}
	l.spin.done = true
	if l.spin.shown {
		fmt.Fprint(l.spin.w, "\r\x1b[K")
	}
}
