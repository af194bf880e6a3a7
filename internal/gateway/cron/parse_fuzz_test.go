package cron

import (
	"testing"
	"time"
)

// FuzzSchedule feeds arbitrary schedules to the parser: it refuses them
// with a reason or returns a schedule whose next firing is later than the
// instant asked about (or none), never a panic.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "0 0 29 2 *", "@every 90s", "@daily", "0 2 * * 0", "? ? ? ? ?",
		"60 24 32 13 8", "1-5/0 * * * *", "@every -1s", "* * * JAN-DEC MON-SUN", ""} {
		f.Add(s, int64(1700000000))
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		loc = time.UTC
	}
	f.Fuzz(func(t *testing.T, spec string, at int64) {
		s, err := ParseSchedule(spec, loc)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		after := time.Unix(at%(1<<35), 0)
		if next := s.Next(after); !next.IsZero() && !next.After(after) {
			t.Fatalf("%q: next firing after %v is %v", spec, after, next)
		}
	})
}

// FuzzConfig feeds arbitrary cron files to the parser: entries or an
// error, never a panic.
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		"- name: nightly\n  schedule: \"0 2 * * *\"\n  event:\n    source: brigade.sh/cron\n    type: nightly\n    projectID: p\n",
		"[]", "- {}", "x: [", "- name: a\n  schedule: 1\n", "\t- bad", "- name: \xff\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Parse(data); err != nil && err.Error() == "" {
			t.Fatal("a refusal without a reason")
		}
	})
}
