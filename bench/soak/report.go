package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// report turns the samples into the figures, the checks, and the files.
type report struct {
	o             options
	samples       []sample
	tally         *tally
	drained       time.Duration
	warnings      int
	firstWarnings []string
}

// Allowances added to -growth times the first third, so that a short soak
// on a small server does not fail for a few MiB or goroutines of warm-up.
const (
	slackRSSMiB     = 32
	slackGoroutines = 50
	slackOpenFiles  = 50
)

// growthCheck compares one resource's last third with its first third.
type growthCheck struct {
	name               string
	unit               string
	first, last, peak  float64
	allowed            float64
	ok                 bool
	firstFrom, firstTo float64 // seconds: the windows compared
	lastFrom, lastTo   float64
}

func (r *report) finish(out string) error {
	var problems []string
	t := r.tally
	t.mu.Lock()
	accepted, finished, lost, errs := t.accepted, t.finished, t.lost, t.errors
	firstErrs := append([]string(nil), t.firstErrs...)
	phases := map[core.WorkerPhase]int{}
	for k, v := range t.phases {
		phases[k] = v
	}
	all := append([]outcome(nil), t.all...)
	t.mu.Unlock()

	var run, term []time.Duration
	for _, o := range all {
		if o.toRunning >= 0 {
			run = append(run, o.toRunning)
		}
		term = append(term, o.toTerminal)
	}
	if finished != accepted {
		problems = append(problems, fmt.Sprintf("%d of %d accepted events did not reach a terminal phase within -drain %s (%d watches broke)",
			accepted-finished, accepted, r.o.drain, lost))
	}
	if phases[core.PhaseSucceeded] != finished {
		problems = append(problems, fmt.Sprintf("not every finished event SUCCEEDED: %v", phases))
	}
	if errs > 0 {
		problems = append(problems, fmt.Sprintf("%d error answers; first: %s", errs, strings.Join(firstErrs, " | ")))
	}
	if accepted == 0 {
		problems = append(problems, "no event was accepted")
	}
	checks := r.growth()
	for _, g := range checks {
		if !g.ok {
			problems = append(problems, fmt.Sprintf("%s grew: %.1f %s on average in the last third, more than the %.1f allowed (%.1f in the first third × %.1f + %v)",
				g.name, g.last, g.unit, g.allowed, g.first, r.o.growth, slack(g.name)))
		}
	}

	var b strings.Builder
	loadSamples := r.loadSamples()
	achieved := 0.0
	for _, s := range loadSamples {
		achieved += s.achieved
	}
	fmt.Fprintf(&b, "soak figures: %.0f events/s asked for %s, one job each\n", r.o.rate, r.o.duration)
	fmt.Fprintf(&b, "  %-26s %d (%.2f/s over the load; lowest second %.0f/s), %d error answers\n", "events accepted",
		accepted, achieved/math.Max(1, float64(len(loadSamples))), minAchieved(loadSamples), errs)
	fmt.Fprintf(&b, "  %-26s %d of %d (%s), all over %.0f s after the load ended (sampled each second)\n", "terminal",
		finished, accepted, phaseList(phases), math.Max(0, math.Ceil(r.drained.Seconds())))
	fmt.Fprintf(&b, "  %-26s p50 %7.1f ms   p99 %7.1f ms   max %7.1f ms\n", "accept → running", pctMS(run, .5), pctMS(run, .99), pctMS(run, 1))
	fmt.Fprintf(&b, "  %-26s p50 %7.1f ms   p99 %7.1f ms   max %7.1f ms\n", "accept → terminal", pctMS(term, .5), pctMS(term, .99), pctMS(term, 1))
	for _, g := range checks {
		verdict := "ok"
		if !g.ok {
			verdict = "GREW"
		}
		name := g.name
		if g.unit != "" {
			name += " (" + g.unit + ")"
		}
		fmt.Fprintf(&b, "  %-26s first third %7.1f   last third %7.1f   peak %7.1f   (allowed %.1f: %s)\n",
			name, g.first, g.last, g.peak, g.allowed, verdict)
	}
	if len(checks) > 0 {
		fmt.Fprintf(&b, "  %-26s %.0f-%.0f s against %.0f-%.0f s (after warm-up)\n", "thirds compared",
			checks[0].lastFrom, checks[0].lastTo, checks[0].firstFrom, checks[0].firstTo)
	}
	qw, qj := peak(r.samples, func(s sample) float64 { return s.queueWork }), peak(r.samples, func(s sample) float64 { return s.queueJobs })
	fmt.Fprintf(&b, "  %-26s workers %.0f, jobs %.0f at most\n", "queue depth", qw, qj)
	if r.warnings > 0 {
		fmt.Fprintf(&b, "  %-26s %d; first: %s\n", "server warnings", r.warnings, strings.Join(r.firstWarnings, "\n    "))
	}
	verdict := "PASSED"
	if len(problems) > 0 {
		verdict = "FAILED:\n  - " + strings.Join(problems, "\n  - ")
	}
	fmt.Fprintf(&b, "  files: %s, %s\nsoak %s\n", filepath.Join(out, "soak.csv"), filepath.Join(out, "soak.png"), verdict)
	fmt.Print(b.String())

	if err := os.WriteFile(filepath.Join(out, "figures.txt"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing the figures: %w", err)
	}
	if err := writeFile(filepath.Join(out, "soak.csv"), r.writeCSV); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, "soak.png"), r.plot().encode); err != nil {
		return err
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func nanIfZero(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}

func slack(name string) float64 {
	switch name {
	case "resident memory":
		return slackRSSMiB
	case "goroutines":
		return slackGoroutines
	}
	return slackOpenFiles
}

// loadSamples are the samples taken while the load ran.
func (r *report) loadSamples() []sample {
	var out []sample
	for _, s := range r.samples {
		if s.target > 0 {
			out = append(out, s)
		}
	}
	return out
}

// growth compares the last third of the load with its first third, after
// a warm-up of a sixth of the load (at most 10 s).
func (r *report) growth() []growthCheck {
	ls := r.loadSamples()
	warm := min(10, r.o.duration.Seconds()/6)
	var body []sample
	for _, s := range ls {
		if s.t > warm {
			body = append(body, s)
		}
	}
	if len(body) < 3 {
		return nil
	}
	third := len(body) / 3
	first, last := body[:third], body[len(body)-third:]
	var out []growthCheck
	for _, m := range []struct {
		name, unit string
		get        func(sample) float64
	}{
		{"resident memory", "MiB", func(s sample) float64 { return s.rssMiB }},
		{"goroutines", "", func(s sample) float64 { return s.goroutines }},
		{"open files", "", func(s sample) float64 { return s.openFiles }},
	} {
		g := growthCheck{name: m.name, unit: m.unit, first: meanOf(first, m.get), last: meanOf(last, m.get), peak: peak(r.samples, m.get),
			firstFrom: first[0].t, firstTo: first[len(first)-1].t, lastFrom: last[0].t, lastTo: last[len(last)-1].t}
		g.allowed = g.first*r.o.growth + slack(m.name)
		g.ok = !(g.last > g.allowed) // NaN (never scraped) is not growth
		out = append(out, g)
	}
	return out
}

func meanOf(ss []sample, get func(sample) float64) float64 {
	vs := make([]float64, len(ss))
	for i, s := range ss {
		vs[i] = get(s)
	}
	return mean(vs)
}

func peak(ss []sample, get func(sample) float64) float64 {
	p := math.NaN()
	for _, s := range ss {
		if v := get(s); !math.IsNaN(v) && (math.IsNaN(p) || v > p) {
			p = v
		}
	}
	return p
}

func minAchieved(ss []sample) float64 {
	if len(ss) <= 1 {
		return math.NaN()
	}
	m := math.Inf(1)
	for _, s := range ss[:len(ss)-1] { // the last second may be a part second
		m = math.Min(m, s.achieved)
	}
	return m
}

func phaseList(phases map[core.WorkerPhase]int) string {
	var parts []string
	for _, p := range core.AllPhases {
		if n := phases[p]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", p, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

var csvHeader = []string{"second", "target_rate", "achieved_rate", "in_flight",
	"accept_to_running_p50_ms", "accept_to_running_p99_ms", "accept_to_terminal_p50_ms", "accept_to_terminal_p99_ms",
	"rss_mib", "goroutines", "open_files", "queue_workers", "queue_jobs", "errors"}

// writeCSV writes one row a second; an empty cell is a figure with no
// value that second (no event ended, or /metrics did not answer).
func (r *report) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(v float64, prec int) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	for _, s := range r.samples {
		row := []string{f(s.t, 1), f(s.target, 1), f(s.achieved, 0), strconv.Itoa(s.inflight),
			f(s.runP50, 2), f(s.runP99, 2), f(s.termP50, 2), f(s.termP99, 2),
			f(s.rssMiB, 1), f(s.goroutines, 0), f(s.openFiles, 0), f(s.queueWork, 0), f(s.queueJobs, 0), strconv.Itoa(s.errors)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// plot draws rate, latency, memory and goroutines over time.
func (r *report) plot() *plot {
	p := &plot{title: fmt.Sprintf("brigade soak: %.0f events/s for %.0f s, one job each", r.o.rate, r.o.duration.Seconds()),
		marker: r.o.duration.Seconds(), label: "load ends"}
	col := func(get func(sample) float64) []float64 {
		vs := make([]float64, len(r.samples))
		for i, s := range r.samples {
			vs[i] = get(s)
		}
		return vs
	}
	for _, s := range r.samples {
		p.x = append(p.x, s.t)
	}
	p.panels = []panel{
		{title: "events/s", series: []series{
			{name: "target", color: grey, values: col(func(s sample) float64 { return nanIfZero(s.target) })},
			{name: "accepted", color: blue, values: col(func(s sample) float64 { return s.achieved })},
		}},
		{title: "latency (ms)", series: []series{
			{name: "accept->running p50", color: green, values: col(func(s sample) float64 { return s.runP50 })},
			{name: "accept->terminal p50", color: blue, values: col(func(s sample) float64 { return s.termP50 })},
			{name: "accept->terminal p99", color: red, values: col(func(s sample) float64 { return s.termP99 })},
		}},
		{title: "server resident memory (MiB)", series: []series{
			{name: "RSS", color: purple, values: col(func(s sample) float64 { return s.rssMiB })},
		}},
		{title: "server counts", series: []series{
			{name: "goroutines", color: orange, values: col(func(s sample) float64 { return s.goroutines })},
			{name: "open files", color: green, values: col(func(s sample) float64 { return s.openFiles })},
			{name: "queued workers", color: red, values: col(func(s sample) float64 { return s.queueWork })},
		}},
	}
	return p
}
