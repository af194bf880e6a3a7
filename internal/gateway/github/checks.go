package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// Keys of the source state of an event whose jobs are reported as check
// runs. runKey(job) holds the ID of that job's check run, so that a
// restarted gateway updates the check runs it made instead of adding more.
const (
	stTracking     = "tracking"
	stInstallation = "installationID"
	stOwner        = "owner"
	stRepo         = "repo"
	stHeadSHA      = "headSHA"
	runPrefix      = "run-"
)

// maxCheckRunText is GitHub's limit on a check run's output text.
const maxCheckRunText = 65535

// truncatedMarker starts a log that lost its beginning to that limit.
const truncatedMarker = "(earlier log lines omitted: only the last 64 KiB are shown)\n"

// reportedPhases are the worker phases of events with something to
// report: every phase but PENDING (nothing has run yet).
var reportedPhases = []core.WorkerPhase{
	core.PhaseAborted, core.PhaseCanceled, core.PhaseFailed, core.PhaseRunning, core.PhaseSchedulingFailed,
	core.PhaseStarting, core.PhaseSucceeded, core.PhaseTimedOut, core.PhaseUnknown,
}

// Run reports the jobs of tracked events as check runs, every
// ReportInterval, and asks GitHub for the check suites deliveries call
// for, until ctx ends. It returns at once when no App has a private key.
func (g *Gateway) Run(ctx context.Context) error {
	if g.gh == nil {
		return nil
	}
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		g.forward(ctx)
	}()
	r := &reporter{g: g, sent: map[string]string{}}
	t := time.NewTicker(g.cfg.ReportInterval)
	defer t.Stop()
	for {
		r.pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// reporter remembers what it last sent for each job, so that a check run
// is only updated when its job has changed.
type reporter struct {
	g    *Gateway
	sent map[string]string // "eventID/job" → status/conclusion last sent
}

// pass looks at every tracked event once.
func (r *reporter) pass(ctx context.Context) {
	sel := &client.EventSelector{Source: Source, SourceState: map[string]string{stTracking: "true"}, WorkerPhases: reportedPhases}
	opts := &client.ListOptions{Limit: 100}
	seen := map[string]bool{}
	for {
		page, err := r.g.env.API.ListEvents(ctx, sel, opts)
		if err != nil {
			if ctx.Err() == nil {
				r.g.env.Log.Error("listing the events to report to GitHub failed", "error", err)
			}
			return
		}
		for i := range page.Items {
			ev := &page.Items[i]
			seen[ev.Metadata.ID] = true
			err := r.report(ctx, ev)
			var ge *githubError
			if errors.As(err, &ge) && (ge.status == http.StatusNotFound || ge.status == http.StatusUnprocessableEntity) {
				// The App lost the repository or its installation, or
				// GitHub will never take this report.
				r.g.env.Log.Warn("GitHub refuses the check runs of an event: no longer tracking it",
					"eventID", ev.Metadata.ID, "error", err)
				err = r.g.env.API.UpdateSourceState(ctx, ev.Metadata.ID, core.SourceState{})
			}
			if err != nil && ctx.Err() == nil {
				r.g.env.Log.Warn("reporting an event's jobs to GitHub failed; trying again later",
					"eventID", ev.Metadata.ID, "error", err)
			}
		}
		if page.Metadata.Continue == "" {
			break
		}
		opts.Continue = page.Metadata.Continue
	}
	for k := range r.sent {
		if id, _, _ := strings.Cut(k, "/"); !seen[id] {
			delete(r.sent, k)
		}
	}
}

// report creates or updates the check run of each job of ev that changed,
// and stops tracking ev once it and all its jobs have ended.
func (r *reporter) report(ctx context.Context, ev *core.Event) error {
	state := map[string]string{}
	if ev.SourceState != nil && ev.SourceState.State != nil {
		state = ev.SourceState.State
	}
	id, err := strconv.ParseInt(ev.Labels["appID"], 10, 64)
	app := r.g.apps[id]
	if err != nil || app == nil || app.Key == nil {
		r.g.env.Log.Warn("a tracked event's GitHub App is not configured with a key: no longer tracking it",
			"eventID", ev.Metadata.ID, "appID", ev.Labels["appID"])
		return r.g.env.API.UpdateSourceState(ctx, ev.Metadata.ID, core.SourceState{})
	}
	inst, owner, repo := state[stInstallation], state[stOwner], state[stRepo]
	var jobs []core.Job
	if ev.Worker != nil {
		jobs = ev.Worker.Jobs
	}
	for i := range jobs {
		j := &jobs[i]
		run := r.checkRun(ev.ProjectID, state[stHeadSHA], j)
		k := ev.Metadata.ID + "/" + j.Name
		fp := run.Status + "/" + run.Conclusion
		if r.sent[k] == fp {
			continue
		}
		if run.Status == "completed" {
			run.Output = &checkRunOutput{Title: run.Name, Summary: "Job Logs", Text: r.logs(ctx, ev.Metadata.ID, j.Name)}
		}
		runID := state[runKey(j.Name)]
		if runID == "" {
			// Not remembered: made by a gateway stopped before it could
			// remember it, or never made.
			id, err := r.g.gh.findCheckRun(ctx, app, inst, owner, repo, run.HeadSHA, run.Name)
			if err != nil {
				return err
			}
			if id == 0 {
				if id, err = r.g.gh.createCheckRun(ctx, app, inst, owner, repo, run); err != nil {
					return err
				}
				r.sent[k] = fp
			}
			runID = strconv.FormatInt(id, 10)
			state[runKey(j.Name)] = runID
			if err := r.g.env.API.UpdateSourceState(ctx, ev.Metadata.ID, core.SourceState{State: state}); err != nil {
				return err
			}
		}
		if r.sent[k] != fp {
			run.HeadSHA = ""
			if err := r.g.gh.updateCheckRun(ctx, app, inst, owner, repo, runID, run); err != nil {
				return err
			}
		}
		r.sent[k] = fp
	}
	if ev.Worker == nil || !ev.Worker.Status.Phase.IsTerminal() {
		return nil
	}
	for i := range jobs {
		if !strings.HasPrefix(r.sent[ev.Metadata.ID+"/"+jobs[i].Name], "completed/") {
			return nil // a job has not ended, or its end is not reported yet
		}
	}
	return r.g.env.API.UpdateSourceState(ctx, ev.Metadata.ID, core.SourceState{})
}

// runKey is the source state key of a job's check run ID: runPrefix and
// the job's name, or a digest of a name that cannot be part of a key.
func runKey(job string) string {
	for i := 0; i < len(job); i++ {
		if c := job[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			sum := sha256.Sum256([]byte(job))
			return runPrefix + hex.EncodeToString(sum[:8])
		}
	}
	return runPrefix + job
}

// checkRun is what the check run of job j says now.
func (r *reporter) checkRun(projectID, headSHA string, j *core.Job) *checkRun {
	run := &checkRun{Name: projectID + ":" + j.Name, HeadSHA: headSHA, Status: "queued"}
	if j.Status == nil {
		return run
	}
	run.StartedAt = j.Status.Started
	switch j.Status.Phase {
	case core.PhaseRunning:
		run.Status = "in_progress"
	case core.PhaseSucceeded:
		run.Conclusion = "success"
	case core.PhaseFailed, core.PhaseSchedulingFailed, core.PhaseUnknown:
		run.Conclusion = "failure"
		if j.Spec.Fallible && r.g.cfg.FallibleNeutral {
			run.Conclusion = "neutral"
		}
	case core.PhaseAborted, core.PhaseCanceled:
		run.Conclusion = "cancelled"
	case core.PhaseTimedOut:
		run.Conclusion = "timed_out"
	}
	if run.Conclusion != "" {
		run.Status = "completed"
		run.CompletedAt = j.Status.Ended
		if run.CompletedAt == nil {
			now := time.Now().UTC()
			run.CompletedAt = &now
		}
	}
	return run
}

// logsWait bounds the reading of a job's log.
const logsWait = 30 * time.Second

// logs is the end of job's log, as the text of its check run: at most
// maxCheckRunText bytes, starting with truncatedMarker when cut. The job
// has ended, so every line of it is stored.
func (r *reporter) logs(ctx context.Context, eventID, job string) string {
	ctx, cancel := context.WithTimeout(ctx, logsWait)
	defer cancel()
	lines, errs := r.g.env.API.Logs(ctx, eventID, client.LogOptions{Job: job})
	var t tail
	for l := range lines {
		t.add(l.Message + "\n")
	}
	if err := <-errs; err != nil {
		r.g.env.Log.Warn("reading a job's log for its check run failed", "eventID", eventID, "job", job, "error", err)
	}
	return t.text()
}

// tail keeps the end of a text that may be long.
type tail struct {
	buf []byte
	cut bool
}

func (t *tail) add(s string) {
	t.buf = append(t.buf, s...)
	if len(t.buf) > 2*maxCheckRunText {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-maxCheckRunText:]...)
		t.cut = true
	}
}

// text is the kept end, within maxCheckRunText bytes with the marker,
// cut at a character boundary.
func (t *tail) text() string {
	b := t.buf
	cut := t.cut
	if len(b) > maxCheckRunText {
		b, cut = b[len(b)-maxCheckRunText:], true
	}
	if !cut {
		return string(b)
	}
	b = b[len(truncatedMarker):]
	for len(b) > 0 && !utf8.RuneStart(b[0]) {
		b = b[1:]
	}
	return truncatedMarker + string(b)
}
