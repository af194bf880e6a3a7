package standby

import (
	"errors"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	l := &Launch{Dir: "/data/events/e1", Env: []string{"A=1", "B=two=2"}}
	msg, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(strings.NewReader(string(msg)))
	if err != nil || got.Dir != l.Dir || strings.Join(got.Env, ",") != "A=1,B=two=2" {
		t.Fatalf("Read = %+v, %v", got, err)
	}
	if _, err := Read(strings.NewReader("")); !errors.Is(err, ErrNoLaunch) {
		t.Errorf("an empty pipe gave %v, want ErrNoLaunch", err)
	}
	for _, bad := range []string{"{", `{"env":["A=1"]}`, "null"} {
		if _, err := Read(strings.NewReader(bad)); err == nil || errors.Is(err, ErrNoLaunch) {
			t.Errorf("Read(%q) = %v, want an error that says what is wrong", bad, err)
		}
	}
}
