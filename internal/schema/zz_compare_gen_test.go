// TEMPORARY: generates bad bodies and compares old and new details.

package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

var fullBodies = map[string]string{
	Project: `{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"demo"},"description":"a demo","spec":{"eventSubscriptions":[{"source":"brigade.sh/cli","types":["exec"],"qualifiers":{"ab":"c"},"labels":{"ab":"c"}}],"workerTemplate":{"container":{"image":"x","imagePullPolicy":"Always","command":["a"],"arguments":["b"],"environment":{"A":"b"}},"useWorkspace":true,"workspaceSize":"1Gi","git":{"cloneURL":"https://github.com/x/y.git","commit":"abcdef12","ref":"main","initSubmodules":false},"kubernetes":{"imagePullSecrets":["abc"]},"jobPolicies":{"allowPrivileged":true,"allowDockerSocketMount":false,"kubernetes":{"imagePullSecrets":["abc"]}},"logLevel":"DEBUG","configFilesDirectory":".brigade","defaultConfigFiles":{"brigade.js":"x"},"timeoutDuration":"10m"}}}`,
	Event:   `{"apiVersion":"brigade.sh/v2","kind":"Event","metadata":{},"projectID":"demo","source":"brigade.sh/cli","sourceState":{"apiVersion":"brigade.sh/v2","kind":"SourceState","state":{"ab":"c"}},"type":"exec","qualifiers":{"ab":"c"},"labels":{"ab":"c"},"shortTitle":"s","longTitle":"l","git":{"cloneURL":"https://x/y","commit":"abcdef12","ref":"main"},"payload":"p","configFiles":{"a/b.js":"x"}}`,
	Job: `{"apiVersion":"brigade.sh/v2","kind":"Job","name":"ab","spec":{"primaryContainer":{"image":"x","imagePullPolicy":"IfNotPresent","command":["a"],"arguments":["b"],"environment":{"A":"b"},"workingDirectory":"/w","workspaceMountPath":"/ws","sourceMountPath":"/src","privileged":false,"useHostDockerSocket":true,"resources":{"requests":{"cpu":"500m","memory":"64Mi"},"limits":{"cpu":"1","memory":"1Gi"}},"serviceAccount":"sa"},
		"sidecarContainers":{"db":{"image":"postgres"}},"timeoutDuration":"10s","host":{"os":"linux","nodeSelector":{"a":"b"},"name":"n"},"fallible":true,"cache":{"path":"/c","size":"5Mi"}}}`,
	JobStatus:          `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","started":"2023-01-01T00:00:00Z","ended":null,"phase":"RUNNING","logsEventID":"x"}`,
	WorkerStatus:       `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","started":"2023-01-01T00:00:00.5+01:00","ended":"2023-01-01T23:59:60Z","phase":"SUCCEEDED"}`,
	SourceStateRequest: `{"apiVersion":"brigade.sh/v2","kind":"SourceState","state":{"ab":"c"}}`,
	EventSummary:       `{"apiVersion":"brigade.sh/v2","kind":"EventSummary","text":"t"}`,
	Secret:             `{"apiVersion":"brigade.sh/v2","kind":"Secret","key":"k","value":"v"}`,
}

var replacements = func() []any {
	out := []any{nil, true, false, 0, 1.5, -3, "", "x", "ab", "abc", "Ab-1", "a-b", "ab-", "1ab", "a\\", "it's", "q\"uote", "ü", "\u0000", "tab\there", "é\u00a0",
		strings.Repeat("a", 3), strings.Repeat("a", 50), strings.Repeat("a", 51), strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("a", 80), strings.Repeat("a", 81), strings.Repeat("a", 100), strings.Repeat("a", 101), strings.Repeat("a", 253), strings.Repeat("a", 254),
		strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("ü", 300), strings.Repeat("b", 4096), strings.Repeat("b", 4097), strings.Repeat("c", 12345),
		[]any{}, []any{"x"}, []any{1}, []any{"x", nil, "DE"}, []any{"a-b", "Ab"}, map[string]any{}, map[string]any{"x": 1}, map[string]any{"a": "b"}, map[string]any{"ab": 1},
		map[string]any{"1": "x"}, map[string]any{"../x": "y"}, map[string]any{"ab": "c", "cd": "e"},
		"IfNotPresent", "Always", "always", "DEBUG", "debug", "RUNNING", "TIMED_OUT", "brigade.sh/v2", "brigade.sh/v1", "1.5Gi", "500m", "lots", "1.", "10s", "1h2m", "1.5x", "3µs", "1.s", "s",
		"linux", "windows", "darwin", "https://github.com/a/b.git", "git@github.com:a/b", "ftp://x", "abcdef12", "ABCDEF1234", "abcdefg1", "abc", strings.Repeat("f", 41),
		"Project", "Event", "Job", "Secret", "SourceState",
		"https://x y", "a*b", "a:b/c-d.e?f=g@h", "a:b/c-d.e?f=g@h*",
	}
	for _, d := range dates {
		out = append(out, d)
	}
	return out
}()

var dates = []string{
	"2023-01-01T00:00:00Z", "2023-01-01t00:00:00z", "2023-01-01 00:00:00Z", "2023-01-01T00:00:00", "2023-13-01T00:00:00Z", "2023-02-30T00:00:00Z",
	"2023-1-01T00:00:00Z00", "20230101T000000Z00000", "2023-01-01T24:00:00Z", "2023-01-01T23:60:00Z", "2023-01-01T23:59:61Z", "2023-01-01T23:59:60Z",
	"2023-01-01T22:59:60Z", "2023-01-01T23:59:60+01:00", "2023-01-01T00:59:60+01:00", "2023-01-01T22:59:60-01:00", "2023-01-01T00:00:00.Z",
	"2023-01-01T00:00:00.123Z", "2023-01-01T00:00:00.123456789+05:30", "2023-01-01T00:00:00+0530", "2023-01-01T00:00:00 05:30", "2023-01-01T00:00:00+05-30",
	"2023-01-01T00:00:00+24:00", "2023-01-01T00:00:00+05:60", "2023-01-01T00:00:00+-5:30", "2023-01-01T00:00:00+05:-3", "2023-01-01T00:00:00+a5:30",
	"2023-01-01T00:00:00+:5:30", "2023-01-01T00-00:00Z", "2023-01-01T00:00-00Z", "2023-01-01Tab:00:00Z", "2023-01-01T-1:00:00Z", "2023-01-01T+1:00:00Z",
	"2023-01-01T00:-1:00Z", "2023-01-01T:0:00:00Z", "2023-01-01T0::00:00Z", "2023-01-01T00:0::00Z", "2023-01-01T00:00::0Z", "2023-01-01T00:00:0:Z0",
	"2023-01-01T00:00:00ZZ", "2023-01-01T00:00:00.1.2Z", "2023-01-01T00:00:00,5Z", "2023-01-01T00:00:00.5", "2023-01-01T00:00:00.5+01:00x",
	"2023-01-01T00:00:00Z   ", "ééééééééééééééééééééé", "2023-01-0éT00:00:00Z", "2023-01-01Té0:00:00Z", "xxxx-xx-xxTxx:xx:xxZ", "0000-01-01T00:00:00Z",
	"2023-01-01T00:00:00.-5:00", "2023-01-01T00:00:00+05:30Z", "2023-01-01T1", "2023-01-01T00:00:00-00:00", "2023-01-01T00:00:60-23:59", "2023-01-01T23:59:60+00:00",
	"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2023-00-10T00:00:00Z", "2023-01-00T00:00:00Z", "2023-01-32T00:00:00Z",
}

var badNames = []string{"", "a", "1a", "a-", "A_b", "../x", "./x", "a/../b", ".", "..", "a/.", "x/", "/x", strings.Repeat("x", 255), strings.Repeat("x", 256),
	strings.Repeat("x", 63), strings.Repeat("x", 64), "µ", "a b", "ab", "Ab", "a-b", "it's", "x\\", "a.b", "DB", "d_b", "d-b-"}

var extraNames = []string{"foo", "specversion", "id", "a.b", "it's", "x\\", ""}

func clone(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

type pathStep = any // string or int

// paths lists every path to a value in v.
func paths(v any, prefix []pathStep, out *[][]pathStep) {
	*out = append(*out, slices.Clone(prefix))
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			paths(x, append(prefix, k), out)
		}
	case []any:
		for i, x := range v {
			paths(x, append(prefix, i), out)
		}
	}
}

func at(root any, p []pathStep) any {
	cur := root
	for _, s := range p {
		switch s := s.(type) {
		case string:
			cur = cur.(map[string]any)[s]
		case int:
			cur = cur.([]any)[s]
		}
	}
	return cur
}

// setAt replaces the value at p (p non-empty) and returns root.
func setAt(root any, p []pathStep, v any) any {
	if len(p) == 0 {
		return v
	}
	parent := at(root, p[:len(p)-1])
	switch s := p[len(p)-1].(type) {
	case string:
		parent.(map[string]any)[s] = v
	case int:
		parent.([]any)[s] = v
	}
	return root
}

type mutation func(root any, rnd *rand.Rand) any

func mutations(full any) []mutation {
	var ps [][]pathStep
	paths(full, nil, &ps)
	sort.Slice(ps, func(i, j int) bool { return fmt.Sprint(ps[i]) < fmt.Sprint(ps[j]) })
	var ms []mutation
	for _, p := range ps {
		p := p
		for _, r := range replacements {
			r := r
			if len(p) == 0 {
				continue
			}
			ms = append(ms, func(root any, _ *rand.Rand) any {
				if !exists(root, p) {
					return root
				}
				return setAt(root, p, clone(r))
			})
		}
		if _, isObj := at(full, p).(map[string]any); isObj {
			obj := at(full, p).(map[string]any)
			for k := range obj {
				k := k
				ms = append(ms, func(root any, _ *rand.Rand) any {
					if !exists(root, p) {
						return root
					}
					if m, ok := at(root, p).(map[string]any); ok {
						delete(m, k)
					}
					return root
				})
			}
			for i := range extraNames {
				names := extraNames[:i+1]
				ms = append(ms, func(root any, _ *rand.Rand) any {
					if !exists(root, p) {
						return root
					}
					if m, ok := at(root, p).(map[string]any); ok {
						for _, n := range names {
							m[n] = "v"
						}
					}
					return root
				})
			}
			for _, n := range badNames {
				n := n
				for _, val := range []any{"v", 1, map[string]any{"image": 1}, map[string]any{}} {
					val := val
					ms = append(ms, func(root any, _ *rand.Rand) any {
						if !exists(root, p) {
							return root
						}
						if m, ok := at(root, p).(map[string]any); ok {
							m[n] = clone(val)
						}
						return root
					})
				}
			}
		}
	}
	return ms
}

func exists(root any, p []pathStep) bool {
	cur := root
	for _, s := range p {
		switch s := s.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			if cur, ok = m[s]; !ok {
				return false
			}
		case int:
			a, ok := cur.([]any)
			if !ok || s >= len(a) {
				return false
			}
			cur = a[s]
		}
	}
	return true
}

var quotedList = regexp.MustCompile(`additional properties (.*) not allowed$`)

// normalize sorts the names listed in "additional properties" lines (the
// library lists them in map order) and then the lines.
func normalize(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if m := quotedList.FindStringSubmatchIndex(l); m != nil {
			list := l[m[2]:m[3]]
			names := splitQuoted(list[1 : len(list)-1])
			sort.Strings(names)
			l = l[:m[2]] + "'" + strings.Join(names, "', '") + "'" + l[m[3]:]
		}
		out = append(out, l)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// splitQuoted splits "'a', 'b\\', 'c'" at the separators between quotes.
func splitQuoted(s string) []string {
	return strings.Split(s, "', '")
}

func outcome(err error) []string {
	if err == nil {
		return []string{"VALID"}
	}
	var bad *core.BadRequestError
	if !errors.As(err, &bad) {
		return []string{"ERROR " + err.Error()}
	}
	return append([]string{"REASON " + bad.Reason}, normalize(bad.Details)...)
}

func TestCompareWithLibrary(t *testing.T) {
	var bodies []struct {
		kind string
		body []byte
	}
	add := func(kind string, b []byte) {
		bodies = append(bodies, struct {
			kind string
			body []byte
		}{kind, b})
	}
	kinds := []string{Project, Event, Job, JobStatus, WorkerStatus, SourceStateRequest, EventSummary, Secret}
	rnd := rand.New(rand.NewSource(1))
	for _, kind := range kinds {
		var full any
		if err := json.Unmarshal([]byte(fullBodies[kind]), &full); err != nil {
			t.Fatal(kind, err)
		}
		add(kind, []byte(fullBodies[kind]))
		for _, other := range kinds {
			add(kind, []byte(fullBodies[other]))
		}
		for _, raw := range []string{`null`, `[]`, `"x"`, `1`, `true`, `{}`, `{"apiVersion":"brigade.sh/v2","apiVersion":1}`, `{"kind":"x","kind":"` + kind + `"}`,
			"{\"kind\":\"\xff\xfe\"}", "{\"\xff\":1}", `{"a":1e400}`, `[[[[[[[[[[{}]]]]]]]]]]`, `{"apiVersion":"brigade.sh/v2"} `, `{"x":1}{}`, ``, `{`} {
			add(kind, []byte(raw))
		}
		ms := mutations(full)
		for _, m := range ms {
			b, _ := json.Marshal(m(clone(full), rnd))
			add(kind, b)
		}
		for i := 0; i < 3000; i++ {
			root := clone(full)
			for j := 0; j < 1+rnd.Intn(5); j++ {
				root = ms[rnd.Intn(len(ms))](root, rnd)
			}
			b, _ := json.Marshal(root)
			add(kind, b)
		}
	}
	diffs := 0
	kindsSeen := map[string]int{}
	for _, c := range bodies {
		old := outcome(oldValidate(c.kind, c.body))
		got := outcome(Validate(c.kind, c.body))
		for _, l := range old[1:] {
			if i := strings.Index(l, ": "); i >= 0 {
				msg := l[i+2:]
				msg = regexp.MustCompile(`'[^']*'|[0-9,]+`).ReplaceAllString(msg, "_")
				kindsSeen[msg]++
			}
		}
		if !slices.Equal(old, got) && !relabelled(old, got) {
			diffs++
			if diffs <= 40 {
				t.Errorf("%s %s\n old: %q\n new: %q", c.kind, c.body, old, got)
			}
		}
	}
	t.Logf("%d bodies, %d differ, %d differ only in where a name violation is reported", len(bodies), diffs, relabels)
	if os.Getenv("SHOW_KINDS") != "" {
		var ks []string
		for k, n := range kindsSeen {
			ks = append(ks, fmt.Sprintf("%6d %s", n, k))
		}
		sort.Strings(ks)
		t.Logf("violation kinds seen:\n%s", strings.Join(ks, "\n"))
	}
}

// Maps whose names the schemas check with an inline propertyNames: the
// library reports those violations at some ancestor (often the root).
var inlineNameMaps = map[string]bool{"configFiles": true, "spec.sidecarContainers": true, "sourceState.state": true, "state": true}

func splitLine(l string) (loc, msg string) {
	i := strings.Index(l, ": ")
	if i < 0 {
		return "", l
	}
	return l[:i], l[i+2:]
}

func ancestor(a, b string) bool {
	return a == "(root)" || a == b || strings.HasPrefix(b, a+".")
}

// relabelled reports whether old and new differ only in where name
// violations of inline name maps are reported.
func relabelled(old, got []string) bool {
	if old[0] != got[0] {
		return false
	}
	o := map[string]bool{}
	for _, l := range old[1:] {
		o[l] = true
	}
	n := map[string]bool{}
	for _, l := range got[1:] {
		n[l] = true
	}
	var restOld, restNew []string
	for l := range o {
		if !n[l] {
			restOld = append(restOld, l)
		}
	}
	for l := range n {
		if !o[l] {
			restNew = append(restNew, l)
		}
	}
	for _, l := range restNew {
		loc, msg := splitLine(l)
		if !inlineNameMaps[loc] || strings.HasPrefix(msg, "got ") {
			return false
		}
		found := false
		for _, ol := range restOld {
			oloc, omsg := splitLine(ol)
			if omsg == msg && ancestor(oloc, loc) {
				found = true
			}
		}
		if !found && !o[loc+": "+msg] {
			// the same message may be reported for the map already
			for ol := range o {
				oloc, omsg := splitLine(ol)
				if omsg == msg && ancestor(oloc, loc) {
					found = true
				}
			}
			if !found {
				return false
			}
		}
	}
	for _, ol := range restOld {
		oloc, omsg := splitLine(ol)
		found := false
		for l := range n {
			loc, msg := splitLine(l)
			if msg == omsg && inlineNameMaps[loc] && ancestor(oloc, loc) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	relabels++
	return true
}

var relabels int
