package standby

import (
	"errors"
	"strings"
	"testing"
)

func TestReceiver(t *testing.T) {
	a := &Launch{Dir: "/data/events/e1", Env: []string{"A=1", "B=two=2"}, End: "END-1"}
	b := &Launch{Dir: "/data/events/e2", Env: []string{"C=" + strings.Repeat("x", 100<<10)}}
	var msgs []byte
	for _, l := range []*Launch{a, b} {
		m, err := l.Encode()
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m...)
	}
	rc := NewReceiver(strings.NewReader(string(msgs)))
	for _, want := range []*Launch{a, b} {
		got, err := rc.Next()
		if err != nil || got.Dir != want.Dir || got.End != want.End || strings.Join(got.Env, ",") != strings.Join(want.Env, ",") {
			t.Fatalf("Next = %+v, %v; want %+v", got, err, want)
		}
	}
	if _, err := rc.Next(); !errors.Is(err, ErrNoLaunch) {
		t.Errorf("a closed pipe gave %v, want ErrNoLaunch", err)
	}
	for _, bad := range []string{"{\n", `{"env":["A=1"]}` + "\n", "null\n"} {
		if _, err := NewReceiver(strings.NewReader(bad)).Next(); err == nil || errors.Is(err, ErrNoLaunch) {
			t.Errorf("Next on %q = %v, want an error that says what is wrong", bad, err)
		}
	}
}
