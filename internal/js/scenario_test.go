package js

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// scenarioDir holds whole-flow cases: script + event in, exit code, jobs,
// summary and log lines out. See testdata/scenarios/README.md.
const scenarioDir = "../../testdata/scenarios"

// expectation is a scenario's expect.json.
type expectation struct {
	// What the fake host does.
	Phases        map[string]core.JobPhase `json:"phases"`
	After         map[string][]string      `json:"after"`
	Delays        map[string]string        `json:"delays"`
	CreateErrors  map[string]string        `json:"createErrors"`
	WaitErrors    map[string]string        `json:"waitErrors"`
	JobLogs       map[string]string        `json:"jobLogs"`
	ValidateNames bool                     `json:"validateNames"`
	SummaryError  string                   `json:"summaryError"`
	Exec          bool                     `json:"exec"`
	// How the run is started.
	Env      map[string]string `json:"env"`
	LogLevel string            `json:"logLevel"`
	// What must come out.
	ExitCode int `json:"exitCode"`
	// Jobs created, in order; each is matched as a subset of the core.Job's
	// JSON (only the keys given are compared; arrays compare whole).
	Jobs []json.RawMessage `json:"jobs"`
	// Summary: the summaries set, in order (absent means none).
	Summary []string `json:"summary"`
	// Log: substrings, or /regexps/, that must appear in this order.
	Log []string `json:"log"`
	// LogAnywhere: substrings or /regexps/ that must appear, in any order
	// (for lines whose position depends on goroutine timing).
	LogAnywhere []string `json:"logAnywhere"`
	// NotLog: substrings or /regexps/ that must not appear.
	NotLog []string `json:"notLog"`
}

func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(scenarioDir, "*", "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatalf("no scenarios under %s", scenarioDir)
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			runScenario(t, dir)
		})
	}
}

func runScenario(t *testing.T, dir string) {
	var exp expectation
	readJSON(t, filepath.Join(dir, "expect.json"), &exp)
	var event map[string]any
	readJSON(t, filepath.Join(dir, "event.json"), &event)

	host := &fakeHost{
		Phases: exp.Phases, After: exp.After, CreateErrors: exp.CreateErrors, WaitErrors: exp.WaitErrors,
		Logs: exp.JobLogs, ValidateNames: exp.ValidateNames, SummaryError: exp.SummaryError, Exec: exp.Exec,
		Delays: map[string]time.Duration{},
	}
	for k, v := range exp.Delays {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("expect.json delays[%s]: %v", k, err)
		}
		host.Delays[k] = d
	}
	var out syncBuffer
	code, err := Run(testContext(t), Options{Dir: dir, Event: event, Host: host, Stdout: &out, LogLevel: exp.LogLevel, Env: exp.Env})
	log := out.String()
	defer func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", log)
		}
	}()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if code != exp.ExitCode {
		t.Errorf("exit code = %d, want %d", code, exp.ExitCode)
	}

	jobs := host.Jobs()
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = j.Name
	}
	if len(jobs) != len(exp.Jobs) {
		t.Errorf("jobs created = %q, want %d jobs", names, len(exp.Jobs))
	}
	for i := 0; i < len(jobs) && i < len(exp.Jobs); i++ {
		var want, got any
		if err := json.Unmarshal(exp.Jobs[i], &want); err != nil {
			t.Fatalf("expect.json jobs[%d]: %v", i, err)
		}
		raw, _ := json.Marshal(jobs[i])
		_ = json.Unmarshal(raw, &got)
		if path, ok := subset(want, got, "job"); !ok {
			t.Errorf("job %d (%s): %s differs:\n got: %s\nwant: %s", i, jobs[i].Name, path, raw, exp.Jobs[i])
		}
	}

	if got := host.Summaries(); !reflect.DeepEqual(got, exp.Summary) && (len(got) > 0 || len(exp.Summary) > 0) {
		t.Errorf("summaries = %q, want %q", got, exp.Summary)
	}

	at := 0
	for _, want := range exp.Log {
		start, end, ok := find(log[at:], want)
		if !ok {
			if _, _, anywhere := find(log, want); anywhere {
				t.Errorf("log line %q is out of order (looked after offset %d)", want, at)
			} else {
				t.Errorf("log has no %q", want)
			}
			continue
		}
		_ = start
		at += end
	}
	for _, want := range exp.LogAnywhere {
		if _, _, ok := find(log, want); !ok {
			t.Errorf("log has no %q", want)
		}
	}
	for _, bad := range exp.NotLog {
		if _, _, ok := find(log, bad); ok {
			t.Errorf("log has %q, which it must not", bad)
		}
	}
}

// find locates a substring or, written /like this/, a regexp.
func find(s, pattern string) (start, end int, ok bool) {
	if len(pattern) > 2 && strings.HasPrefix(pattern, "/") && strings.HasSuffix(pattern, "/") {
		loc := regexp.MustCompile(pattern[1 : len(pattern)-1]).FindStringIndex(s)
		if loc == nil {
			return 0, 0, false
		}
		return loc[0], loc[1], true
	}
	i := strings.Index(s, pattern)
	if i < 0 {
		return 0, 0, false
	}
	return i, i + len(pattern), true
}

// subset reports whether every key of want is in got with the same value
// (recursively for objects; arrays and scalars compare whole).
func subset(want, got any, path string) (string, bool) {
	wm, ok := want.(map[string]any)
	if !ok {
		return path, reflect.DeepEqual(want, got)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return path, false
	}
	for k, wv := range wm {
		gv, present := gm[k]
		if !present {
			if wv == nil {
				continue // "key": null means absent
			}
			return path + "." + k, false
		}
		if p, ok := subset(wv, gv, path+"."+k); !ok {
			return p, false
		}
	}
	return "", true
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, fmt.Errorf("decoding: %w", err))
	}
}
