package crash

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// figures are what a run counted; violations are broken promises.
type figures struct {
	kills, events, jobs, jobsRunChecked, linesChecked int
	markedSeen                                        int           // processes found by their mark while the server ran
	killPhase, settlePhase                            time.Duration // how long the kills, then the settling, took
	eventPhases, jobPhases                            map[core.WorkerPhase]int
	refused                                           map[string]int
	violations                                        []string
}

func (f *figures) violate(format string, args ...any) {
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
}

func (f *figures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kills %d, events accepted %d, jobs %d, job runs checked %d, log lines checked %d, violations %d\n",
		f.kills, f.events, f.jobs, f.jobsRunChecked, f.linesChecked, len(f.violations))
	fmt.Fprintf(&b, "kills took %s, settling and checks %s; %d processes carried the run's mark before the final stop\n",
		f.killPhase.Round(time.Second), f.settlePhase.Round(time.Second), f.markedSeen)
	fmt.Fprintf(&b, "events by phase: %s\njobs by phase: %s\n", phases(f.eventPhases), phases(f.jobPhases))
	refused := make([]string, 0, len(f.refused))
	for why, n := range f.refused {
		refused = append(refused, fmt.Sprintf("%s: %d", why, n))
	}
	sort.Strings(refused)
	fmt.Fprintf(&b, "creates not answered 201: %s\n", strings.Join(refused, ", "))
	return b.String()
}

func phases(m map[core.WorkerPhase]int) string {
	parts := make([]string, 0, len(m))
	for p, n := range m {
		parts = append(parts, fmt.Sprintf("%s %d", p, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// settle re-reads every accepted event until all are terminal or the
// deadline passes, and returns the last state read of each (nil: never
// found).
func settle(ctx context.Context, c *client.Client, events []accepted, f *figures, deadline time.Time) map[string]*core.Event {
	final := make(map[string]*core.Event, len(events))
	left := append([]accepted(nil), events...)
	for len(left) > 0 {
		var next []accepted
		for _, a := range left {
			ev, err := c.GetEvent(ctx, a.id)
			if err == nil {
				final[a.id] = ev
			}
			if err != nil || ev.Worker == nil || !ev.Worker.Status.Phase.IsTerminal() {
				next = append(next, a)
			}
		}
		left = next
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // another process's progress: re-read
	}
	for _, a := range left {
		if ev := final[a.id]; ev == nil {
			f.violate("event %s (%s, answered 201 by start %d) does not exist", a.id, a.project, a.gen)
		} else {
			f.violate("event %s (%s) is not terminal after the bound: %s", a.id, a.project, describe(ev))
		}
	}
	return final
}

func describe(ev *core.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker %s", ev.Worker.Status.Phase)
	for _, j := range ev.Worker.Jobs {
		fmt.Fprintf(&b, ", job %s %s", j.Name, j.Status.Phase)
		if j.Status.Reason != "" {
			fmt.Fprintf(&b, " (%s)", j.Status.Reason)
		}
	}
	return b.String()
}

// starts reads an event's marker file: when each of its jobs started.
func starts(marks, id string) (map[string][]time.Time, error) {
	b, err := os.ReadFile(filepath.Join(marks, id))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]time.Time{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, at, ok := strings.Cut(line, " ")
		secs, err := strconv.ParseFloat(at, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("marker line %q", line)
		}
		out[name] = append(out[name], time.Unix(0, int64(secs*1e9)))
	}
	return out, nil
}

// clockSlack allows for the rounding of the times the server stores and of
// the float the marker's start time goes through.
const clockSlack = 50 * time.Millisecond

// checkEvent asserts the promises about one terminal event.
func checkEvent(ctx context.Context, c *client.Client, marks string, a accepted, ev *core.Event, f *figures) {
	plan := planOf(a.project)
	phase := ev.Worker.Status.Phase
	f.eventPhases[phase]++
	ran, err := starts(marks, a.id)
	if err != nil {
		f.violate("event %s: %v", a.id, err)
	}
	known := map[string]bool{}
	for _, j := range ev.Worker.Jobs {
		known[j.Name] = true
		f.jobs++
		f.jobPhases[j.Status.Phase]++
		if !j.Status.Phase.IsTerminal() {
			f.violate("event %s is %s but its job %s is %s", a.id, phase, j.Name, j.Status.Phase)
		}
		runs := ran[j.Name]
		f.jobsRunChecked++
		if len(runs) > 1 {
			f.violate("event %s (%s): job %s ran %d times (now %s)", a.id, phase, j.Name, len(runs), j.Status.Phase)
		}
		if j.Status.Phase == core.PhaseSucceeded && len(runs) == 0 {
			f.violate("event %s: job %s is SUCCEEDED but never ran", a.id, j.Name)
		}
		if end := ev.Worker.Status.Ended; end != nil {
			for _, at := range runs {
				if at.After(end.Add(clockSlack)) {
					f.violate("event %s: job %s started at %s, after its event ended %s at %s",
						a.id, j.Name, at.Format(time.RFC3339Nano), phase, end.Format(time.RFC3339Nano))
				}
			}
		}
		jp := plan.jobs[j.Name]
		code := j.Status.ExitCode
		if j.Status.Phase == core.PhaseSucceeded || (j.Status.Phase == core.PhaseFailed && jp.code != 0 && code != nil && *code == jp.code) {
			checkLines(ctx, c, a.id, j.Name, "line", jp.lines, f)
		}
	}
	for name := range ran {
		if !known[name] {
			f.violate("event %s (%s): job %s ran but the event does not list it", a.id, describe(ev), name)
		}
	}
	switch {
	case phase == core.PhaseSucceeded && plan.fails:
		f.violate("event %s of %s SUCCEEDED, but its script fails", a.id, a.project)
	case phase == core.PhaseSucceeded:
		checkLines(ctx, c, a.id, "", "step", plan.steps, f)
	case phase == core.PhaseFailed && !plan.fails:
		f.violate("event %s of %s FAILED, though nothing in it fails: %s; the worker's log ends: %s",
			a.id, a.project, describe(ev), logTail(ctx, c, a.id, 5))
	}
}

var numbered = regexp.MustCompile(`^(line|step) (\d+)$`)

// checkLines reads a finished job's (or, with job "", the worker's) log
// through the API and asserts that its lines "<word> 1" … "<word> n" are
// each stored once, in order.
func checkLines(ctx context.Context, c *client.Client, id, job, word string, n int, f *figures) {
	who := "the worker"
	if job != "" {
		who = "job " + job
	}
	lines, errs := c.Logs(ctx, id, client.LogOptions{Job: job})
	var got []int
	for l := range lines {
		m := numbered.FindStringSubmatch(strings.TrimRight(l.Message, "\r\n"))
		if m == nil || m[1] != word {
			continue
		}
		k, _ := strconv.Atoi(m[2])
		got = append(got, k)
	}
	if err := <-errs; err != nil {
		f.violate("event %s: reading the log of %s: %v", id, who, err)
		return
	}
	f.linesChecked += len(got)
	for i, k := range got {
		if k != i+1 {
			f.violate("event %s: the log of %s has %q %d where %d belongs (%d numbered lines: %s)", id, who, word, k, i+1, len(got), abbreviate(got))
			return
		}
	}
	if len(got) != n {
		f.violate("event %s: the log of %s has %d numbered lines, want %d", id, who, len(got), n)
	}
}

func abbreviate(ns []int) string {
	s := fmt.Sprint(ns)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// eventFolders lists the event folders left under the data dir's events
// folder. Names that start with a dot are no event's (ids start with a
// letter or a digit): the local substrate keeps its spare folders in
// .spare/, scrubbed empty.
func eventFolders(dataDir string) []string {
	entries, _ := os.ReadDir(filepath.Join(dataDir, "events"))
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// logTail is the worker's last n log lines, to say why it failed.
func logTail(ctx context.Context, c *client.Client, id string, n int) string {
	lines, errs := c.Logs(ctx, id, client.LogOptions{})
	var msgs []string
	for l := range lines {
		msgs = append(msgs, l.Message)
	}
	if err := <-errs; err != nil {
		msgs = append(msgs, "(reading it: "+err.Error()+")")
	}
	return strings.Join(msgs[max(0, len(msgs)-n):], " | ")
}
