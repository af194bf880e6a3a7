package npm

import (
	"encoding/json"
	"sort"
	"testing"
)

func TestRangeSatisfies(t *testing.T) {
	cases := []struct {
		rng  string
		in   []string
		out  []string
		fail bool
	}{
		{rng: "^1.2.3", in: []string{"1.2.3", "1.9.0", "1.2.4"}, out: []string{"1.2.2", "2.0.0", "2.0.0-alpha", "1.3.0-beta"}},
		{rng: "^0.2.3", in: []string{"0.2.3", "0.2.9"}, out: []string{"0.3.0", "0.2.2"}},
		{rng: "^0.0.3", in: []string{"0.0.3"}, out: []string{"0.0.4", "0.0.2"}},
		{rng: "^0.0", in: []string{"0.0.0", "0.0.9"}, out: []string{"0.1.0"}},
		{rng: "^0.x", in: []string{"0.0.1", "0.9.9"}, out: []string{"1.0.0"}},
		{rng: "^1.2.x", in: []string{"1.2.0", "1.9.9"}, out: []string{"2.0.0", "1.1.9"}},
		{rng: "^1.2.3-beta.2", in: []string{"1.2.3-beta.2", "1.2.3-beta.10", "1.2.3", "1.5.0"}, out: []string{"1.2.3-beta.1", "1.2.4-beta.1", "1.2.3-alpha"}},
		{rng: "~1.2.3", in: []string{"1.2.3", "1.2.9"}, out: []string{"1.3.0", "1.2.2"}},
		{rng: "~1.2", in: []string{"1.2.0", "1.2.9"}, out: []string{"1.3.0"}},
		{rng: "~1", in: []string{"1.0.0", "1.9.9"}, out: []string{"2.0.0"}},
		{rng: "~>1.2", in: []string{"1.2.5"}, out: []string{"1.3.0"}},
		{rng: "1.x", in: []string{"1.0.0", "1.99.0"}, out: []string{"2.0.0", "0.9.0"}},
		{rng: "1.2.*", in: []string{"1.2.0", "1.2.7"}, out: []string{"1.3.0"}},
		{rng: "1", in: []string{"1.5.0"}, out: []string{"2.0.0"}},
		{rng: "*", in: []string{"0.0.0", "9.9.9"}, out: []string{"1.0.0-rc.1"}},
		{rng: "", in: []string{"3.0.0"}},
		{rng: "x", in: []string{"3.0.0"}},
		{rng: "1.2.3", in: []string{"1.2.3", "1.2.3+build.5"}, out: []string{"1.2.4"}},
		{rng: "=1.2.3", in: []string{"1.2.3"}, out: []string{"1.2.4"}},
		{rng: "v1.2.3", in: []string{"1.2.3"}},
		{rng: ">=1.2.3 <2", in: []string{"1.2.3", "1.9.9"}, out: []string{"2.0.0", "1.2.2"}},
		{rng: ">= 1.2.3 < 2.0.0", in: []string{"1.5.0"}, out: []string{"2.0.0"}},
		{rng: ">1.2", in: []string{"1.3.0"}, out: []string{"1.2.9"}},
		{rng: ">1", in: []string{"2.0.0"}, out: []string{"1.9.0"}},
		{rng: ">1.2.3", in: []string{"1.2.4"}, out: []string{"1.2.3"}},
		{rng: "<1.2", in: []string{"1.1.9"}, out: []string{"1.2.0", "1.2.0-beta"}},
		{rng: "<=1.2", in: []string{"1.2.9"}, out: []string{"1.3.0"}},
		{rng: "<=1.2.3", in: []string{"1.2.3"}, out: []string{"1.2.4"}},
		{rng: "<2.0.0", in: []string{"1.9.9"}, out: []string{"2.0.0", "2.0.0-alpha"}},
		{rng: "1.2 - 2.3.4", in: []string{"1.2.0", "2.3.4"}, out: []string{"2.3.5", "1.1.9"}},
		{rng: "1.2.3 - 2.3", in: []string{"2.3.9"}, out: []string{"2.4.0"}},
		{rng: "1.2.3 - 2", in: []string{"2.9.9"}, out: []string{"3.0.0"}},
		{rng: "1.x || >=2.5.0 || 5.0.0 - 7.2.3", in: []string{"1.2.3", "2.5.0", "6.0.0", "99.0.0"}, out: []string{"2.4.9", "0.1.0"}},
		{rng: "^1 || ^3", in: []string{"1.1.1", "3.3.3"}, out: []string{"2.0.0"}},
		{rng: ">*", out: []string{"1.0.0"}},
		{rng: "latest", fail: true},
		{rng: "^1.2.3.4", fail: true},
		{rng: "1.2.3 - ", fail: true},
	}
	for _, c := range cases {
		r, err := ParseRange(c.rng)
		if c.fail {
			if err == nil {
				t.Errorf("ParseRange(%q) = nil error, want one", c.rng)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRange(%q): %v", c.rng, err)
			continue
		}
		for _, s := range c.in {
			if !r.Satisfies(mustVersion(t, s)) {
				t.Errorf("%q should match %s", c.rng, s)
			}
		}
		for _, s := range c.out {
			if r.Satisfies(mustVersion(t, s)) {
				t.Errorf("%q should not match %s", c.rng, s)
			}
		}
	}
}

func mustVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVersionOrder(t *testing.T) {
	want := []string{"0.9.0", "1.0.0-0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "10.0.0"}
	got := append([]string(nil), want...)
	sort.Slice(got, func(i, j int) bool { return mustVersion(t, got[j]).Compare(mustVersion(t, got[i])) > 0 })
	sort.SliceStable(got, func(i, j int) bool { return mustVersion(t, got[i]).Compare(mustVersion(t, got[j])) < 0 })
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order = %v, want %v", got, want)
		}
	}
	if mustVersion(t, "1.0.0+a").Compare(mustVersion(t, "1.0.0+b")) != 0 {
		t.Error("build metadata must not count")
	}
	for _, bad := range []string{"1.2", "1.2.3.4", "a.b.c", "1.2.3-", "01x.2.3", ""} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) = nil error", bad)
		}
	}
}

func TestChoose(t *testing.T) {
	doc := &packument{DistTags: map[string]string{"latest": "1.5.0", "next": "2.0.0-rc.1"}, Versions: map[string]json.RawMessage{}}
	for _, v := range []string{"1.0.0", "1.5.0", "1.6.0", "1.7.0", "2.0.0-rc.1", "0.9.0"} {
		doc.Versions[v] = json.RawMessage(`{"version": "` + v + `"}`)
	}
	doc.Versions["1.7.0"] = json.RawMessage(`{"version": "1.7.0", "deprecated": "broken"}`)
	// Shapes seen in real registries' old versions must not break a pick.
	doc.Versions["1.0.0"] = json.RawMessage(`{"version": "1.0.0", "dependencies": ["x"], "os": "linux", "peerDependenciesMeta": 3}`)
	doc.Versions["0.9.0"] = json.RawMessage(`{"version": "0.9.0", "dependencies": {"a": "1", "b": 2}}`)
	if m := doc.manifest("1.0.0"); m == nil || m.Dependencies != nil || len(m.OS) != 1 {
		t.Errorf("lenient manifest = %+v", m)
	}
	if m := doc.manifest("0.9.0"); m == nil || len(m.Dependencies) != 1 {
		t.Errorf("lenient dependencies = %+v", m)
	}
	for want, v := range map[string]string{
		"^1.0.0": "1.5.0", // latest wins when in range
		">1.5.0": "1.6.0", // else the highest, not deprecated first
		"latest": "1.5.0",
		"next":   "2.0.0-rc.1",
		"":       "1.5.0",
		"~0.9":   "0.9.0",
		"1.7.0":  "1.7.0",
	} {
		m, err := choose(doc, want)
		if err != nil || m.Version != v {
			t.Errorf("choose(%q) = %v, %v; want %s", want, m, err, v)
		}
	}
	if _, err := choose(doc, "^3"); err == nil {
		t.Error("choose(^3) should fail")
	}
	if _, err := choose(doc, "nightly"); err == nil {
		t.Error("choose(nightly) should fail")
	}
}
