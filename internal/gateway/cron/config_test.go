package cron

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodFile = `
schedules:
- name: nightly-cleanup
  schedule: "30 2 * * *"
  timeZone: America/New_York
  event:
    projectID: ops
    type: cleanup-requested
    labels:
      team: infra
    payload: '{"keep": 7}'
- name: heartbeat
  schedule: "@every 10m"
  concurrencyPolicy: Allow
  startingDeadline: 5m
  event:
    apiVersion: brigade.sh/v2
    kind: Event
    source: brigade.sh/cron
    projectID: ops
    type: heartbeat
    shortTitle: still here
`

func TestParseFile(t *testing.T) {
	es, err := Parse([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	a, b := es[0], es[1]
	if a.Name != "nightly-cleanup" || a.Location.String() != "America/New_York" || a.Policy != Forbid || a.StartingDeadline != 0 {
		t.Fatalf("first entry: %+v", a)
	}
	if ev := a.Event; ev.Source != Source || ev.ProjectID != "ops" || ev.Type != "cleanup-requested" ||
		ev.Labels["team"] != "infra" || ev.Labels[ScheduleLabel] != "nightly-cleanup" || ev.Payload != `{"keep": 7}` {
		t.Fatalf("first event: %+v", ev)
	}
	if b.Policy != Allow || b.StartingDeadline != 5*time.Minute || b.Location != time.UTC ||
		b.Event.ShortTitle != "still here" || b.Event.Labels[ScheduleLabel] != "heartbeat" {
		t.Fatalf("second entry: %+v", b)
	}
	at := time.Date(2026, 12, 2, 7, 3, 0, 0, time.UTC)
	if got := b.Schedule.Next(at); !got.Equal(at.Add(7 * time.Minute)) {
		t.Fatalf("@every 10m after %s: %s", at, got)
	}

	path := filepath.Join(t.TempDir(), "cron.yaml")
	if err := os.WriteFile(path, []byte(goodFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if es, err := LoadFile(path); err != nil || len(es) != 2 {
		t.Fatalf("LoadFile: %v", err)
	}
	if _, err := LoadFile(path + ".missing"); err == nil || !strings.Contains(err.Error(), "reading the cron file") {
		t.Fatalf("a missing file: %v", err)
	}
}

// entry is a one-schedule file with the given lines added to a valid
// entry (a line "-key" removes key).
func entry(lines ...string) string {
	base := map[string]string{
		"name":     "name: tick",
		"schedule": `schedule: "*/5 * * * *"`,
		"event":    "event:\n    projectID: ops\n    type: tick",
	}
	var extra []string
	for _, l := range lines {
		if k, ok := strings.CutPrefix(l, "-"); ok {
			delete(base, k)
			continue
		}
		k, _, _ := strings.Cut(l, ":")
		if _, ok := base[k]; ok {
			base[k] = l
			continue
		}
		extra = append(extra, l)
	}
	var all []string
	for _, k := range []string{"name", "schedule", "event"} {
		if l, ok := base[k]; ok {
			all = append(all, l)
		}
	}
	return "schedules:\n- " + strings.Join(append(all, extra...), "\n  ") + "\n"
}

func TestParseFileRejects(t *testing.T) {
	if _, err := Parse([]byte(entry())); err != nil {
		t.Fatalf("the base entry: %v", err)
	}
	for _, tc := range []struct{ file, want string }{
		{"", "no schedules"},
		{"schedules: []", "no schedules"},
		{"schedules: [\n  {name: x", "not valid YAML: yaml: line 2"},
		{"schedules:\n- name: x\n  schedule: */5 * * * *", `not valid YAML: yaml: line 3: did not find expected alphabetic or numeric character (a value that starts with * or @, such as a schedule, must be quoted`},
		{"schedules:\n- name: x\n  schedule: @daily", "must be quoted"},
		{"- name: x", "put the schedules under a top-level `schedules:` key"},
		{"jobs: []", `unknown field "jobs"`},
		{entry("zone: UTC"), `schedule 1 (tick): unknown field "zone" (the fields are name, schedule`},
		{entry("-name"), "schedule 1: name is missing"},
		{entry("name: Tick"), `name "Tick": use lower-case letters`},
		{entry("name: tick-"), `name "tick-"`},
		{entry("name: tick_tock"), `name "tick_tock"`},
		{entry("-schedule"), `schedule 1 (tick): schedule "": it is empty`},
		{entry(`schedule: "61 * * * *"`), `schedule 1 (tick): schedule "61 * * * *": minute field "61": 61 is out of range 0-59`},
		{entry(`schedule: "0 0 30 2 *"`), "never fires"},
		{entry("timeZone: Mars/Olympus_Mons"), `timeZone "Mars/Olympus_Mons" is not an IANA time zone name`},
		{entry("timeZone: Local"), `timeZone "Local"`},
		{entry("concurrencyPolicy: Replace"), `concurrencyPolicy "Replace": use Forbid`},
		{entry("startingDeadline: soon"), `startingDeadline "soon"`},
		{entry("startingDeadline: 25h"), "at most 24h"},
		{entry("-event"), "schedule 1 (tick): event is missing"},
		{entry("event: hello"), "event must be a mapping"},
		{entry("event:\n    type: tick"), "event.projectID is missing"},
		{entry("event:\n    projectID: ''\n    type: tick"), "event.projectID is missing"},
		{entry("event:\n    projectID: ops\n    type: tick\n    source: brigade.sh/cli"), `event.source is "brigade.sh/cli": leave it out, or write brigade.sh/cron`},
		{entry("event:\n    projectID: ops"), "schedule 1 (tick): not a valid Event: event: missing property 'type'"},
		{entry("event:\n    projectID: ops\n    type: has space"), "event.type"},
		{entry("event:\n    projectID: Ops\n    type: tick"), "event.projectID"},
		{entry("event:\n    projectID: ops\n    type: tick\n    labels: {bad_key: x}"), "event.labels"},
		{entry("event:\n    projectID: ops\n    type: tick\n    labels: {enabled: true}"), "event.labels.enabled: got boolean, want string"},
		{entry("event:\n    projectID: ops\n    type: tick\n    shortTitle: " + strings.Repeat("x", 51)), "event.shortTitle"},
		{entry("event:\n    projectID: ops\n    type: tick\n    git: {commit: nothex}"), "event.git.commit"},
		{entry("event:\n    projectID: ops\n    type: tick\n    qualifers: {a: b}"), "qualifers"},
		{entry("event:\n    projectID: ops\n    type: tick\n    labels: {cronSchedule: other}"), "event.labels.cronSchedule is \"other\""},
		{entry() + "- name: tick\n  schedule: '@daily'\n  event: {projectID: ops, type: tick}\n", "schedule 2 (tick): schedule 1 has the same name"},
	} {
		_, err := Parse([]byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("file\n%s\ngot error %v\nwant one saying %q", tc.file, err, tc.want)
		}
	}
}

func TestScheduleLabelMayBeGivenAsTheName(t *testing.T) {
	es, err := Parse([]byte(entry("event:\n    projectID: ops\n    type: tick\n    labels: {cronSchedule: tick}")))
	if err != nil || es[0].Event.Labels[ScheduleLabel] != "tick" {
		t.Fatalf("%v %+v", err, es)
	}
}
