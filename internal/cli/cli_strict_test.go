package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTyposFail checks that mistyped commands and flags exit non-zero and
// name what was probably meant, and that a bare group prints its help.
func TestTyposFail(t *testing.T) {
	env := map[string]string{envConfig: filepath.Join(t.TempDir(), "config")}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"evnt"}, []string{`unknown command "evnt" for "brig"`, "did you mean event?"}},
		{[]string{"event", "lst"}, []string{`unknown command "lst" for "brig event"`, "list"}},
		{[]string{"project", "secret", "sett"}, []string{`unknown command "sett"`, "did you mean set?"}},
		{[]string{"event", "list", "--projct", "x"}, []string{"unknown flag --projct", "did you mean --project?"}},
		{[]string{"event", "list", "-Z"}, []string{"unknown flag -Z", "brig event list --help"}},
		{[]string{"event", "retry"}, []string{"which event?"}},
		{[]string{"help", "event", "lst"}, []string{`unknown command "lst" for "brig event"`}},
	} {
		stderr := brigFails(t, env, "", tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("brig %s: stderr lacks %q:\n%s", strings.Join(tc.args, " "), w, stderr)
			}
		}
	}
	for _, args := range [][]string{{"event"}, {"help", "event"}} {
		if out := brig(t, env, "", args...); !strings.Contains(out, "Available Commands:") || !strings.Contains(out, "retry") {
			t.Errorf("brig %s:\n%s", strings.Join(args, " "), out)
		}
	}
	if out := brig(t, env, "", "help", "event", "get"); !strings.Contains(out, "brig event get ID [flags]") {
		t.Errorf("brig help event get:\n%s", out)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"lst", "list", 1}, {"projct", "project", 1}, {"kitten", "sitting", 3}, {"abc", "", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
