package generic

import (
	"errors"
	"testing"
)

// FuzzMapping feeds arbitrary bodies to the v1 simple-event and CloudEvents
// 0.2 mappings: each returns an event of the project or a refusal (a 400
// with a reason), never a panic or another error.
func FuzzMapping(f *testing.F) {
	for _, s := range []string{
		`{"ref":"refs/heads/main","commit":"abc"}`, ``, `null`, `[]`, `{"ref":1}`,
		`{"specversion":"0.2","id":"1","type":"t","source":"s","data":{"ref":"main"}}`,
		`{"specversion":"0.2","id":"1","type":"","source":"s"}`, "\xff", `{"commit":"\u0000"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, cloud bool) {
		mapping := simpleEvent
		if cloud {
			mapping = cloudEvent
		}
		ev, err := mapping("proj", body)
		var r *refusal
		switch {
		case err != nil && !errors.As(err, &r):
			t.Fatalf("an error that is not a refusal: %T %v", err, err)
		case err == nil && (ev == nil || ev.ProjectID != "proj"):
			t.Fatalf("mapped to %+v", ev)
		}
	})
}
