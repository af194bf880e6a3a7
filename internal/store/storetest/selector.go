package storetest

import (
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// selectorFixture stores events that differ in one attribute each, newest
// first in id order (e0 newest).
func selectorFixture(t *testing.T, s core.Store) {
	t.Helper()
	mkProject(t, s, "p1")
	mkProject(t, s, "p2")
	add := func(i int, project string, edit func(e *core.Event)) {
		e := newEvent(project, idf("e%d", i), base.Add(-time.Duration(i)*time.Second))
		edit(e)
		must(t, s.Events().Create(t.Context(), e), "create event")
	}
	add(0, "p1", func(e *core.Event) {
		e.Qualifiers = map[string]string{"repo": "demo", "branch": "main"}
		e.Labels = map[string]string{"brigade.sh/cloneOf": "e9", "team": "a"}
	})
	add(1, "p1", func(e *core.Event) {
		e.Qualifiers = map[string]string{"repo": "demo"}
		e.SourceState = &core.SourceState{State: map[string]string{"delivery": "42", "x.y": "z"}}
	})
	add(2, "p2", func(e *core.Event) {
		e.Source = "other.example.com"
		e.Labels = map[string]string{"team": "b"}
	})
	add(3, "p2", func(e *core.Event) {
		e.Type = "pull_request"
		e.Worker.Status.Phase = core.PhaseRunning
	})
	add(4, "p1", func(e *core.Event) {
		e.Worker.Status.Phase = core.PhaseSucceeded
		e.Qualifiers = map[string]string{"repo": "other"}
	})
}

func selectorCases() []testCase {
	cases := []struct {
		name string
		sel  core.EventSelector
		want []string
	}{
		{"Empty", core.EventSelector{}, []string{"e0", "e1", "e2", "e3", "e4"}},
		{"ProjectID", core.EventSelector{ProjectID: "p2"}, []string{"e2", "e3"}},
		{"Source", core.EventSelector{Source: "other.example.com"}, []string{"e2"}},
		{"Type", core.EventSelector{Type: "pull_request"}, []string{"e3"}},
		{"QualifiersEachPairMustMatch", core.EventSelector{Qualifiers: map[string]string{"repo": "demo"}}, []string{"e0", "e1"}},
		{"QualifiersAllPairs", core.EventSelector{Qualifiers: map[string]string{"repo": "demo", "branch": "main"}}, []string{"e0"}},
		{"QualifiersNoMatch", core.EventSelector{Qualifiers: map[string]string{"repo": "demo", "branch": "dev"}}, nil},
		{"LabelsWithDotsAndSlashes", core.EventSelector{Labels: map[string]string{"brigade.sh/cloneOf": "e9"}}, []string{"e0"}},
		{"LabelsValueMustMatch", core.EventSelector{Labels: map[string]string{"team": "b"}}, []string{"e2"}},
		{"SourceStateMatchesState", core.EventSelector{SourceState: map[string]string{"delivery": "42"}}, []string{"e1"}},
		{"SourceStateKeyWithDot", core.EventSelector{SourceState: map[string]string{"x.y": "z"}}, []string{"e1"}},
		{"WorkerPhasesAnyOf", core.EventSelector{WorkerPhases: []core.WorkerPhase{core.PhaseRunning, core.PhaseSucceeded}}, []string{"e3", "e4"}},
		{"Combined", core.EventSelector{ProjectID: "p1", Qualifiers: map[string]string{"repo": "demo"},
			WorkerPhases: []core.WorkerPhase{core.PhasePending}}, []string{"e0", "e1"}},
	}
	var out []testCase
	for _, c := range cases {
		out = append(out, testCase{"Events/Selector" + c.name, func(t *testing.T, s core.Store) {
			selectorFixture(t, s)
			page, meta, err := s.Events().List(t.Context(), c.sel, core.ListOptions{Limit: 100})
			must(t, err, "list events")
			got := eventIDs(page)
			if len(got) == 0 {
				got = nil
			}
			wantEqual(t, got, c.want, "listed events")
			wantMeta(t, meta, 0, "single page")
			ids, err := s.Events().IDs(t.Context(), c.sel)
			must(t, err, "event ids")
			if len(ids) == 0 {
				ids = nil
			}
			wantEqual(t, ids, c.want, "event ids")
		}})
	}
	out = append(out, testCase{"Events/SelectorPaginationCountsOnlyMatches", func(t *testing.T, s core.Store) {
		mkProject(t, s, "demo")
		for i := range 10 {
			e := newEvent("demo", idf("e%d", i), base.Add(-time.Duration(i)*time.Second))
			if i%2 == 0 {
				e.Labels = map[string]string{"keep": "yes"}
			}
			must(t, s.Events().Create(t.Context(), e), "create event")
		}
		sel := core.EventSelector{Labels: map[string]string{"keep": "yes"}}
		var got []string
		opts := core.ListOptions{Limit: 2}
		for _, remaining := range []int64{3, 1, 0} {
			page, meta, err := s.Events().List(t.Context(), sel, opts)
			must(t, err, "list events")
			wantMeta(t, meta, remaining, "filtered page")
			got = append(got, eventIDs(page)...)
			opts.Continue = meta.Continue
		}
		wantEqual(t, got, []string{"e0", "e2", "e4", "e6", "e8"}, "filtered events across pages")
	}})
	return out
}
