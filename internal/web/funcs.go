package web

import (
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

var funcs = template.FuncMap{
	"phase":     phaseOf,
	"phaseCSS":  func(p any) string { return "ph-" + strings.ToLower(fmt.Sprint(p)) },
	"when":      when,
	"took":      took,
	"jobTook":   jobTook,
	"query":     urlQuery,
	"sortedMap": sortedMap,
	"phases":    func() []core.WorkerPhase { return legendPhases },
	"lower":     strings.ToLower,
	"exitCode": func(j core.Job) string {
		if j.Status == nil || j.Status.ExitCode == nil {
			return ""
		}
		return strconv.Itoa(*j.Status.ExitCode)
	},
}

// legendPhases are the phases the timeline's legend explains.
var legendPhases = []core.WorkerPhase{core.PhasePending, core.PhaseStarting, core.PhaseRunning, core.PhaseSucceeded,
	core.PhaseFailed, core.PhaseAborted, core.PhaseCanceled, core.PhaseTimedOut}

func urlQuery(s string) string { return url.QueryEscape(s) }

// phaseOf is an event's phase ("PENDING" before its worker exists).
func phaseOf(ev core.Event) core.WorkerPhase {
	if ev.Worker == nil || ev.Worker.Status.Phase == "" {
		return core.PhasePending
	}
	return ev.Worker.Status.Phase
}

func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// took is how long from start to end, "" when it has not started, and
// "running for ..." until it ends.
func took(start, end *time.Time) string {
	if start == nil {
		return ""
	}
	if end == nil {
		return "running for " + roundDuration(time.Since(*start))
	}
	return roundDuration(end.Sub(*start))
}

func jobTook(j core.Job) string {
	if j.Status == nil {
		return ""
	}
	return took(j.Status.Started, j.Status.Ended)
}

type kv struct{ Key, Value string }

func sortedMap(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
