package cron

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule says when a schedule fires next.
type Schedule interface {
	// Next is the first firing strictly after after, or the zero time
	// when there is none within ten years.
	Next(after time.Time) time.Time
}

// ParseSchedule reads a schedule in Kubernetes CronJob syntax: five fields
// (minute, hour, day of month, month, day of week) or a macro (@yearly,
// @annually, @monthly, @weekly, @daily, @midnight, @hourly), evaluated on
// the wall clock of loc; or `@every <duration>` (docs/gateways.md, "Cron").
//
// The parser is this package's own rather than a library's, so that `?`,
// the day-of-month/day-of-week rule and the days on which clocks change
// behave as documented, and every process agrees on the instants of an
// @every schedule.
func ParseSchedule(spec string, loc *time.Location) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("it is empty: write five fields (minute hour day-of-month month day-of-week) or a macro such as @daily")
	}
	if strings.HasPrefix(spec, "@") {
		return parseMacro(spec, loc)
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, errors.New("a TZ= or CRON_TZ= prefix is not supported: set the schedule's timeZone instead")
	}
	f := strings.Fields(spec)
	if len(f) != 5 {
		more := ""
		if len(f) == 6 {
			more = " (there is no seconds field)"
		}
		return nil, fmt.Errorf("it has %d fields, want 5: minute hour day-of-month month day-of-week%s", len(f), more)
	}
	s := &fields{loc: loc}
	var err error
	if s.minute, _, err = parseField(f[0], minuteField); err != nil {
		return nil, err
	}
	if s.hour, _, err = parseField(f[1], hourField); err != nil {
		return nil, err
	}
	if s.dom, s.domStar, err = parseField(f[2], domField); err != nil {
		return nil, err
	}
	if s.month, _, err = parseField(f[3], monthField); err != nil {
		return nil, err
	}
	if s.dow, s.dowStar, err = parseField(f[4], dowField); err != nil {
		return nil, err
	}
	return s, nil
}

func parseMacro(spec string, loc *time.Location) (Schedule, error) {
	name, arg, _ := strings.Cut(spec, " ")
	arg = strings.TrimSpace(arg)
	if strings.EqualFold(name, "@every") {
		return parseEvery(arg)
	}
	if arg != "" {
		return nil, fmt.Errorf("%s takes no argument", name)
	}
	var fiveFields string
	switch strings.ToLower(name) {
	case "@yearly", "@annually":
		fiveFields = "0 0 1 1 *"
	case "@monthly":
		fiveFields = "0 0 1 * *"
	case "@weekly":
		fiveFields = "0 0 * * 0"
	case "@daily", "@midnight":
		fiveFields = "0 0 * * *"
	case "@hourly":
		fiveFields = "0 * * * *"
	default:
		return nil, fmt.Errorf("%s is not a macro: use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>", name)
	}
	return ParseSchedule(fiveFields, loc)
}

func parseEvery(arg string) (Schedule, error) {
	if arg == "" {
		return nil, errors.New("@every needs a duration, e.g. @every 15m")
	}
	d, err := time.ParseDuration(arg)
	if err != nil {
		return nil, fmt.Errorf("@every %s: not a duration (write e.g. 90s, 15m or 2h30m)", arg)
	}
	if d < time.Second || d%time.Second != 0 {
		return nil, fmt.Errorf("@every %s: the duration must be a whole number of seconds, at least 1s", arg)
	}
	return every(d), nil
}

// every fires at the instants that are whole multiples of its duration
// since the Unix epoch, whatever the time zone: every process, started
// whenever, computes the same ones.
type every time.Duration

func (e every) Next(after time.Time) time.Time {
	secs := int64(time.Duration(e) / time.Second)
	u := after.Unix() // rounds down, before the epoch too
	return time.Unix((floorDiv(u, secs)+1)*secs, 0).UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// fields is a five-field schedule: a bit set of the values each field
// allows, evaluated on the wall clock of loc.
type fields struct {
	minute, hour, dom, month, dow uint64
	// domStar and dowStar: the field is * or ? (without a step), so that
	// the other day field alone decides.
	domStar, dowStar bool
	loc              *time.Location
}

// searchYears bounds the search for a next firing: February 29 on a given
// weekday, or after 2096, takes up to eight years to come round.
const searchYears = 10

// Next implements Schedule. It walks the wall-clock times of loc (held as
// UTC times, so that no day has 23 or 25 hours) to the first that matches
// and happens after after. A wall-clock time that happens twice (clocks
// going back) fires once, the first time; one that does not happen
// (clocks going forward) fires once, at the moment the clocks jump.
func (s *fields) Next(after time.Time) time.Time {
	a := after.In(s.loc)
	c := time.Date(a.Year(), a.Month(), a.Day(), a.Hour(), a.Minute(), 0, 0, time.UTC)
	limit := c.AddDate(searchYears, 0, 0)
	for {
		var ok bool
		if c, ok = s.match(c, limit); !ok {
			return time.Time{}
		}
		if t := instant(c, s.loc); t.After(after) {
			return t
		}
		c = c.Add(time.Minute)
	}
}

// match is the first wall-clock time from c on (before limit) that the
// fields allow.
func (s *fields) match(c, limit time.Time) (time.Time, bool) {
	for c.Before(limit) {
		switch {
		case s.month&(1<<uint(c.Month())) == 0:
			c = time.Date(c.Year(), c.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !s.dayMatches(c):
			c = time.Date(c.Year(), c.Month(), c.Day()+1, 0, 0, 0, 0, time.UTC)
		case s.hour&(1<<uint(c.Hour())) == 0:
			c = time.Date(c.Year(), c.Month(), c.Day(), c.Hour()+1, 0, 0, 0, time.UTC)
		case s.minute&(1<<uint(c.Minute())) == 0:
			c = c.Add(time.Minute)
		default:
			return c, true
		}
	}
	return time.Time{}, false
}

// dayMatches applies the rule of cron (and Kubernetes): when both day
// fields are restricted, a day matching either fires; otherwise both must
// match (one of them allowing every day).
func (s *fields) dayMatches(c time.Time) bool {
	dom := s.dom&(1<<uint(c.Day())) != 0
	dow := s.dow&(1<<uint(c.Weekday())) != 0
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}

// instant is when the wall-clock time c (held as a UTC time) happens in
// loc: the first time when it happens twice, the moment the clocks jump
// forward over it when it does not happen at all.
func instant(c time.Time, loc *time.Location) time.Time {
	if loc == time.UTC {
		return c
	}
	// Every instant that shows c lies within 14 hours of c read as UTC:
	// walk the zone periods of loc around it.
	var first, jump time.Time
	t, end := c.Add(-26*time.Hour), c.Add(26*time.Hour)
	prevOff, havePrev := 0, false
	for {
		lt := t.In(loc)
		_, off := lt.Zone()
		start, next := lt.ZoneBounds()
		cand := c.Add(-time.Duration(off) * time.Second)
		if (start.IsZero() || !cand.Before(start)) && (next.IsZero() || cand.Before(next)) {
			if first.IsZero() || cand.Before(first) {
				first = cand
			}
		}
		if havePrev && off > prevOff && !start.IsZero() {
			// Clocks went forward at start: the wall-clock times from
			// start+prevOff up to start+off never happened.
			from := start.Add(time.Duration(prevOff) * time.Second)
			to := start.Add(time.Duration(off) * time.Second)
			if !c.Before(from.UTC()) && c.Before(to.UTC()) {
				jump = start
			}
		}
		if next.IsZero() || !next.Before(end) {
			break
		}
		prevOff, havePrev, t = off, true, next
	}
	switch {
	case !first.IsZero():
		return first.In(loc)
	case !jump.IsZero():
		return jump.In(loc)
	}
	return time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), 0, 0, loc)
}

// field describes one of the five fields.
type field struct {
	what     string
	min, max int
	names    []string // names[i] is value min+i, lower case
	nameHint string
}

var (
	minuteField = field{what: "minute", min: 0, max: 59}
	hourField   = field{what: "hour", min: 0, max: 23}
	domField    = field{what: "day of month", min: 1, max: 31}
	monthField  = field{what: "month", min: 1, max: 12, nameHint: "JAN-DEC",
		names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}}
	dowField = field{what: "day of week", min: 0, max: 6, nameHint: "SUN-SAT (Sunday is 0)",
		names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}
)

// parseField reads one field: a comma-separated list of *, ?, a value, a
// range a-b, each with an optional /step (a/step means a to the maximum).
// star says whether some item is * or ? without a step above 1.
func parseField(expr string, f field) (bits uint64, star bool, err error) {
	for _, item := range strings.Split(expr, ",") {
		b, st, err := parseItem(item, f)
		if err != nil {
			return 0, false, fmt.Errorf("%s field %q: %w", f.what, expr, err)
		}
		bits |= b
		star = star || st
	}
	return bits, star, nil
}

func parseItem(item string, f field) (bits uint64, star bool, err error) {
	if item == "" {
		return 0, false, errors.New("an empty list item")
	}
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		if step, err = strconv.Atoi(stepText); err != nil || step < 1 {
			return 0, false, fmt.Errorf("step %q is not a whole number of at least 1", stepText)
		}
	}
	var lo, hi int
	if rng == "*" || rng == "?" {
		lo, hi, star = f.min, f.max, step == 1
	} else if a, b, isRange := strings.Cut(rng, "-"); isRange {
		if lo, err = f.value(a); err != nil {
			return 0, false, err
		}
		if hi, err = f.value(b); err != nil {
			return 0, false, err
		}
		if lo > hi {
			return 0, false, fmt.Errorf("range %s goes backwards", rng)
		}
	} else {
		if lo, err = f.value(rng); err != nil {
			return 0, false, err
		}
		hi = lo
		if hasStep {
			hi = f.max
		}
	}
	for v := lo; v <= hi; v += step {
		bits |= 1 << uint(v)
	}
	return bits, star, nil
}

func (f field) value(s string) (int, error) {
	if s == "" {
		return 0, errors.New("a value is missing")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < f.min || n > f.max {
			return 0, fmt.Errorf("%d is out of range %d-%d", n, f.min, f.max)
		}
		return n, nil
	}
	for i, name := range f.names {
		if strings.EqualFold(s, name) {
			return f.min + i, nil
		}
	}
	if f.names != nil {
		return 0, fmt.Errorf("%q is neither a number %d-%d nor a name %s", s, f.min, f.max, f.nameHint)
	}
	return 0, fmt.Errorf("%q is not a number %d-%d", s, f.min, f.max)
}
