package cron

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones of the tables, whatever the machine has installed
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// firings lists the first n firings of spec in zone after from (RFC 3339).
func firings(t *testing.T, spec, zone, from string, n int) []string {
	t.Helper()
	loc := mustLoc(t, zone)
	s, err := ParseSchedule(spec, loc)
	if err != nil {
		t.Fatalf("%q: %v", spec, err)
	}
	at, err := time.Parse(time.RFC3339, from)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for range n {
		at = s.Next(at)
		if at.IsZero() {
			out = append(out, "never")
			break
		}
		out = append(out, at.In(loc).Format(time.RFC3339))
	}
	return out
}

func TestNextFire(t *testing.T) {
	for _, tc := range []struct {
		spec, zone, from string
		want             []string
	}{
		{"*/5 * * * *", "UTC", "2026-12-02T07:58:30Z",
			[]string{"2026-12-02T08:00:00Z", "2026-12-02T08:05:00Z", "2026-12-02T08:10:00Z"}},
		// A firing instant itself is not "after" it.
		{"*/5 * * * *", "UTC", "2026-12-02T08:00:00Z",
			[]string{"2026-12-02T08:05:00Z"}},
		{"0 0 * * *", "UTC", "2026-12-31T23:59:59Z",
			[]string{"2027-01-01T00:00:00Z", "2027-01-02T00:00:00Z"}},
		{"@hourly", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-02T08:00:00Z", "2026-12-02T09:00:00Z"}},
		{"@daily", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z"}},
		{"@midnight", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-03T00:00:00Z"}},
		// 2026-12-02 is a Wednesday: @weekly is Sunday midnight.
		{"@weekly", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"}},
		{"@monthly", "UTC", "2026-12-02T07:00:00Z", []string{"2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"}},
		{"@yearly", "UTC", "2026-12-02T07:00:00Z", []string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
		{"@annually", "UTC", "2026-12-02T07:00:00Z", []string{"2027-01-01T00:00:00Z"}},
		{"@DAILY", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-03T00:00:00Z"}},
		// ? is *.
		{"0 12 ? * MON", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-07T12:00:00Z", "2026-12-14T12:00:00Z"}},
		{"0 12 1 * ?", "UTC", "2026-12-02T07:00:00Z", []string{"2027-01-01T12:00:00Z"}},
		// Names, in any case, in lists and ranges.
		{"30 9 * jan,Jul mon-FRI", "UTC", "2026-12-02T07:00:00Z",
			[]string{"2027-01-01T09:30:00Z", "2027-01-04T09:30:00Z", "2027-01-05T09:30:00Z"}},
		{"0 0 1 FEB-APR/2 *", "UTC", "2026-12-02T07:00:00Z", []string{"2027-02-01T00:00:00Z", "2027-04-01T00:00:00Z", "2028-02-01T00:00:00Z"}},
		// Ranges with steps, a/step meaning a to the maximum.
		{"0 0-23/6 * * *", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-02T12:00:00Z", "2026-12-02T18:00:00Z", "2026-12-03T00:00:00Z"}},
		{"10/20 * * * *", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-02T07:10:00Z", "2026-12-02T07:30:00Z", "2026-12-02T07:50:00Z", "2026-12-02T08:10:00Z"}},
		{"5,10-12 8 * * *", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-02T08:05:00Z", "2026-12-02T08:10:00Z", "2026-12-02T08:11:00Z", "2026-12-02T08:12:00Z", "2026-12-03T08:05:00Z"}},
		// Both day fields restricted: either matching day fires (the 13th,
		// and every Friday).
		{"0 0 13 * 5", "UTC", "2026-12-02T07:00:00Z",
			[]string{"2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z", "2026-12-13T00:00:00Z", "2026-12-18T00:00:00Z"}},
		// One of them *: the other alone decides.
		{"0 0 13 * *", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-13T00:00:00Z", "2027-01-13T00:00:00Z"}},
		{"0 0 * * 5", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z"}},
		// A stepped day of week counts as restricted (as in Kubernetes):
		// the 1st, or any even weekday (Sun, Tue, Thu, Sat).
		{"0 0 1 * */2", "UTC", "2026-12-28T07:00:00Z", []string{"2026-12-29T00:00:00Z", "2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z", "2027-01-02T00:00:00Z"}},
		// February 29 comes round in leap years only.
		{"0 0 29 2 *", "UTC", "2026-12-02T07:00:00Z", []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", []string{"2104-02-29T00:00:00Z"}},
		{"0 0 31 * *", "UTC", "2026-12-02T07:00:00Z", []string{"2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z", "2027-03-31T00:00:00Z"}},
		// A day that never comes.
		{"0 0 30 2 *", "UTC", "2026-12-02T07:00:00Z", []string{"never"}},
		// @every: multiples of the duration since the epoch, whatever the zone.
		{"@every 15m", "UTC", "2026-12-02T07:58:30Z", []string{"2026-12-02T08:00:00Z", "2026-12-02T08:15:00Z"}},
		{"@every 1s", "UTC", "2026-12-02T07:58:30.5Z", []string{"2026-12-02T07:58:31Z", "2026-12-02T07:58:32Z"}},
		{"@every 1h", "Asia/Kolkata", "2026-12-02T07:58:30Z", []string{"2026-12-02T13:30:00+05:30", "2026-12-02T14:30:00+05:30"}},
		{"@every 7s", "UTC", "1970-01-01T00:00:00Z", []string{"1970-01-01T00:00:07Z", "1970-01-01T00:00:14Z"}},
		// Zones: wall-clock time of the zone.
		{"0 9 * * *", "Asia/Kolkata", "2026-12-02T07:00:00Z", []string{"2026-12-03T09:00:00+05:30"}},
		{"0 9 * * *", "Europe/London", "2026-07-01T07:00:00Z", []string{"2026-07-01T09:00:00+01:00", "2026-07-02T09:00:00+01:00"}},
	} {
		got := firings(t, tc.spec, tc.zone, tc.from, len(tc.want))
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q in %s after %s:\n got %v\nwant %v", tc.spec, tc.zone, tc.from, got, tc.want)
		}
	}
}

// TestNextFireDST: on the days clocks change, every wall-clock time of the
// schedule fires once: a time that happens twice, the first time; a time
// that does not happen, at the moment the clocks jump forward.
func TestNextFireDST(t *testing.T) {
	for _, tc := range []struct {
		spec, zone, from string
		want             []string
	}{
		// New York springs forward on 2026-03-08 at 02:00 EST to 03:00 EDT.
		{"30 2 * * *", "America/New_York", "2026-03-07T00:00:00-05:00",
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		// Several times in the gap fire together, once, with 03:00 itself.
		{"*/20 2,3 * * *", "America/New_York", "2026-03-08T01:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-08T03:20:00-04:00", "2026-03-08T03:40:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"@hourly", "America/New_York", "2026-03-08T00:30:00-05:00",
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
		// It falls back on 2026-11-01 at 02:00 EDT to 01:00 EST: 01:30 happens
		// twice and fires the first time only.
		{"30 1 * * *", "America/New_York", "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"@hourly", "America/New_York", "2026-11-01T00:30:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"}},
		// Asked during the repeated hour, the next firing is after it.
		{"*/30 * * * *", "America/New_York", "2026-11-01T01:10:00-05:00",
			[]string{"2026-11-01T02:00:00-05:00", "2026-11-01T02:30:00-05:00"}},
		{"*/30 * * * *", "America/New_York", "2026-11-01T01:10:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00"}},
		// London springs forward on 2026-03-29 at 01:00 GMT to 02:00 BST, and
		// falls back on 2026-10-25 at 02:00 BST to 01:00 GMT.
		{"15 1 * * *", "Europe/London", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T02:00:00+01:00", "2026-03-30T01:15:00+01:00"}},
		{"15 1 * * *", "Europe/London", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T01:15:00+01:00", "2026-10-26T01:15:00Z"}},
		{"0 * * * *", "Europe/London", "2026-10-24T23:30:00Z",
			[]string{"2026-10-25T01:00:00+01:00", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}},
		// Lord Howe Island moves its clocks by half an hour: 02:00 to 02:30.
		{"15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30",
			[]string{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}},
		// A zone without changes.
		{"0 9 * * *", "Etc/GMT-3", "2026-12-02T07:00:00Z", []string{"2026-12-03T09:00:00+03:00"}},
		// @every ignores wall clocks: the repeated hour has its firings.
		{"@every 30m", "America/New_York", "2026-11-01T01:10:00-04:00",
			[]string{"2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z"}},
	} {
		got := firings(t, tc.spec, tc.zone, tc.from, len(tc.want))
		// Compare instants, not spellings.
		for i := range tc.want {
			w, _ := time.Parse(time.RFC3339, tc.want[i])
			g, err := time.Parse(time.RFC3339, got[i])
			if err != nil || !g.Equal(w) {
				t.Errorf("%q in %s after %s:\n got %v\nwant %v", tc.spec, tc.zone, tc.from, got, tc.want)
				break
			}
		}
	}
}

func TestParseScheduleRejects(t *testing.T) {
	for spec, want := range map[string]string{
		"":                   "empty",
		"* * * *":            "4 fields",
		"0 * * * * *":        "no seconds field",
		"60 * * * *":         "minute field \"60\": 60 is out of range 0-59",
		"* 24 * * *":         "hour field",
		"* * 0 * *":          "day of month field \"0\": 0 is out of range 1-31",
		"* * * 13 *":         "month field",
		"* * * * 7":          "day of week field \"7\": 7 is out of range 0-6",
		"* * * FOO *":        "neither a number 1-12 nor a name JAN-DEC",
		"* * * * MONDAY":     "SUN-SAT",
		"5-1 * * * *":        "goes backwards",
		"*/0 * * * *":        "step \"0\"",
		"*/x * * * *":        "step \"x\"",
		"1,,2 * * * *":       "empty list item",
		"1- * * * *":         "missing",
		"x * * * *":          "\"x\" is not a number 0-59",
		"@often":             "not a macro",
		"@daily 5":           "takes no argument",
		"@every":             "needs a duration",
		"@every soon":        "not a duration",
		"@every 500ms":       "at least 1s",
		"@every 1.5s":        "whole number of seconds",
		"TZ=UTC 0 * * * *":   "timeZone",
		"CRON_TZ=UTC @daily": "timeZone",
	} {
		_, err := ParseSchedule(spec, time.UTC)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error saying %q", spec, err, want)
		}
	}
}
