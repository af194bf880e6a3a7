package cron

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/schema"
)

// Source is the event source of the events the cron gateway creates.
const Source = "brigade.sh/cron"

// ScheduleLabel is the label every event of a schedule carries, with the
// schedule's name as value: how the Forbid policy finds the events of the
// previous firing, and how a user lists a schedule's events.
const ScheduleLabel = "cronSchedule"

// Policy says what a firing does while events of the schedule's previous
// firings have not finished.
type Policy string

// The concurrency policies.
const (
	// Forbid skips the firing (the default).
	Forbid Policy = "Forbid"
	// Allow fires anyway.
	Allow Policy = "Allow"
)

// MaxStartingDeadline bounds startingDeadline: the API remembers an
// idempotency key for 24 hours, so a firing caught up after a restart
// must not be older than that, or it could be created twice.
const MaxStartingDeadline = 24 * time.Hour

// Entry is one schedule of a cron file, checked.
type Entry struct {
	Name     string
	Spec     string // as written
	Schedule Schedule
	Location *time.Location
	Policy   Policy
	// StartingDeadline, when not 0, is how late a firing may still
	// happen; at start, the latest firing within it that was missed is
	// made (once, whichever process made it first).
	StartingDeadline time.Duration
	// Event is what each firing creates, with Source and the schedule
	// label filled in.
	Event core.Event
}

// entryDoc is an entry as written in the file.
type entryDoc struct {
	Name              string          `json:"name"`
	Schedule          string          `json:"schedule"`
	TimeZone          string          `json:"timeZone"`
	ConcurrencyPolicy string          `json:"concurrencyPolicy"`
	StartingDeadline  string          `json:"startingDeadline"`
	Event             json.RawMessage `json:"event"`
}

// LoadFile reads and checks a cron file (docs/gateways.md, "Cron"). Every
// mistake is found here, never when a schedule fires; the error names the
// file and the schedule.
func LoadFile(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the cron file: %w", err)
	}
	entries, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("cron file %s: %w", path, err)
	}
	return entries, nil
}

// Parse reads and checks the YAML of a cron file.
func Parse(data []byte) ([]Entry, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		hint := ""
		if m := err.Error(); strings.Contains(m, "did not find expected alphabetic or numeric character") ||
			strings.Contains(m, "found character that cannot start any token") {
			hint = ` (a value that starts with * or @, such as a schedule, must be quoted: schedule: "*/5 * * * *")`
		}
		return nil, fmt.Errorf("not valid YAML: %w%s", err, hint)
	}
	js = bytes.TrimSpace(js)
	if len(js) > 0 && js[0] == '[' {
		return nil, errors.New("the file is a list: put the schedules under a top-level `schedules:` key")
	}
	var doc struct {
		Schedules []json.RawMessage `json:"schedules"`
	}
	if err := strictJSON(js, &doc); err != nil {
		return nil, fmt.Errorf("want a mapping with one key, `schedules`: %w", err)
	}
	if len(doc.Schedules) == 0 {
		return nil, errors.New("it has no schedules: list them under `schedules:`, or leave --cron-file out")
	}
	var out []Entry
	seen := map[string]int{}
	for i, raw := range doc.Schedules {
		e, err := parseEntry(raw)
		where := fmt.Sprintf("schedule %d", i+1)
		if e.Name != "" {
			where += fmt.Sprintf(" (%s)", e.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if j, dup := seen[e.Name]; dup {
			return nil, fmt.Errorf("%s: schedule %d has the same name; names must be unique", where, j)
		}
		seen[e.Name] = i + 1
		out = append(out, e)
	}
	return out, nil
}

// strictJSON decodes js into v, refusing fields v does not have.
func strictJSON(js []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(js))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// parseEntry checks one entry. The returned Entry has its Name even when
// err is not nil, when the name was readable.
func parseEntry(raw json.RawMessage) (Entry, error) {
	var d entryDoc
	if err := strictJSON(raw, &d); err != nil {
		var loose struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &loose)
		return Entry{Name: loose.Name}, fmt.Errorf("%w (the fields are name, schedule, timeZone, concurrencyPolicy, startingDeadline and event)", err)
	}
	e := Entry{Name: d.Name, Spec: d.Schedule}
	if err := checkName(d.Name); err != nil {
		return e, err
	}
	e.Location = time.UTC
	if d.TimeZone != "" {
		loc, err := time.LoadLocation(d.TimeZone)
		if err != nil || d.TimeZone == "Local" {
			return e, fmt.Errorf("timeZone %q is not an IANA time zone name such as Europe/London (is the tz database installed?)", d.TimeZone)
		}
		e.Location = loc
	}
	s, err := ParseSchedule(d.Schedule, e.Location)
	if err != nil {
		return e, fmt.Errorf("schedule %q: %w", d.Schedule, err)
	}
	if s.Next(time.Now()).IsZero() {
		return e, fmt.Errorf("schedule %q never fires: no such day in the next %d years", d.Schedule, searchYears)
	}
	e.Schedule = s
	switch Policy(d.ConcurrencyPolicy) {
	case "", Forbid:
		e.Policy = Forbid
	case Allow:
		e.Policy = Allow
	default:
		return e, fmt.Errorf("concurrencyPolicy %q: use Forbid (the default: skip a firing while the previous one's event has not finished) or Allow", d.ConcurrencyPolicy)
	}
	if d.StartingDeadline != "" {
		dl, err := time.ParseDuration(d.StartingDeadline)
		if err != nil || dl <= 0 || dl > MaxStartingDeadline {
			return e, fmt.Errorf("startingDeadline %q: want a duration above 0 and at most 24h, e.g. 10m", d.StartingDeadline)
		}
		e.StartingDeadline = dl
	}
	ev, err := parseEvent(d.Event, d.Name)
	if err != nil {
		return e, err
	}
	e.Event = ev
	return e, nil
}

// checkName: lower-case letters, digits and '-', starting and ending with
// a letter or digit, at most 63 characters (it is a label value and part
// of an idempotency key).
func checkName(name string) error {
	if name == "" {
		return errors.New("name is missing: give each schedule a name of lower-case letters, digits and '-'")
	}
	ok := len(name) <= 63 && name[0] != '-' && name[len(name)-1] != '-'
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("name %q: use lower-case letters, digits and '-' (not first or last), at most 63 characters", name)
	}
	return nil
}

// parseEvent checks an entry's event against the API's rules for events,
// so that a mistake is found at start rather than at every firing. The
// source may be left out; the schedule label is added.
func parseEvent(raw json.RawMessage, name string) (core.Event, error) {
	var ev core.Event
	if len(raw) == 0 || string(raw) == "null" {
		return ev, errors.New("event is missing: give the event to create, with at least projectID and type")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return ev, errors.New("event must be a mapping (an Event of the API: projectID, type, labels, payload, ...)")
	}
	str := func(k string) (string, bool) {
		var s string
		v, ok := m[k]
		return s, ok && json.Unmarshal(v, &s) == nil
	}
	if p, ok := str("projectID"); !ok || p == "" {
		return ev, errors.New("event.projectID is missing: a cron event goes to one project, name it")
	}
	if src, present := m["source"]; present {
		if s, ok := str("source"); !ok || s != Source {
			return ev, fmt.Errorf("event.source is %s: leave it out, or write %s", src, Source)
		}
	}
	fill := map[string]string{"source": Source, "apiVersion": "brigade.sh/v2", "kind": "Event"}
	for k, v := range fill {
		if _, ok := m[k]; !ok {
			m[k], _ = json.Marshal(v)
		}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return ev, err
	}
	if err := schema.Validate(schema.Event, body); err != nil {
		var bad *core.BadRequestError
		if errors.As(err, &bad) && len(bad.Details) > 0 {
			for i, d := range bad.Details {
				if rest, ok := strings.CutPrefix(d, "(root)"); ok {
					bad.Details[i] = "event" + rest
				} else {
					bad.Details[i] = "event." + d
				}
			}
			return ev, fmt.Errorf("not a valid Event: %s", strings.Join(bad.Details, "; "))
		}
		return ev, fmt.Errorf("event is not a valid Event: %w", err)
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, fmt.Errorf("event: %w", err)
	}
	if v, ok := ev.Labels[ScheduleLabel]; ok && v != name {
		return ev, fmt.Errorf("event.labels.%s is %q: the gateway sets this label to the schedule's name; leave it out", ScheduleLabel, v)
	}
	if ev.Labels == nil {
		ev.Labels = map[string]string{}
	}
	ev.Labels[ScheduleLabel] = name
	return ev, nil
}
