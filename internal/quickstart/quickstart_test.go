package quickstart

import (
	"bytes"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestQuickstartRunsTheExampleAndStreamsItsLogs(t *testing.T) {
	var out bytes.Buffer
	if err := Run(t.Context(), &out, Options{Version: "test"}); err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"[worker] ", "Creating job fetch", "[fetch] fetched", "[build] built",
		"[test-unit] unit test 3 ok", "[test-lint] lint check 3 ok",
		"SUCCEEDED in", "summary: fetched, built and tested",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestQuickstartFailsWhenTheEventFails(t *testing.T) {
	var out bytes.Buffer
	err := Run(t.Context(), &out, Options{Example: "timeout"})
	if err == nil || !strings.Contains(err.Error(), "FAILED") {
		t.Fatalf("got %v, want the event's failure\n%s", err, out.String())
	}
}
