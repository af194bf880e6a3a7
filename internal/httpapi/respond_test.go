package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// referenceEnveloped is the straightforward envelope: encode, then splice
// "kind" and "apiVersion" in front of the object's keys.
func referenceEnveloped(t *testing.T, kind string, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	head := `{"kind":"` + kind + `","apiVersion":"` + core.APIVersion + `"`
	if string(b) == "{}" {
		return []byte(head + "}")
	}
	return append([]byte(head+","), b[1:]...)
}

// referenceListBody is the straightforward encoding listBody must match
// byte for byte: each item enveloped, then the list enveloped around them.
func referenceListBody[T any](t *testing.T, kind, itemKind string, items []T, meta core.ListMeta) []byte {
	t.Helper()
	raw := make([]json.RawMessage, len(items))
	for i := range items {
		raw[i] = referenceEnveloped(t, itemKind, &items[i])
	}
	return referenceEnveloped(t, kind, struct {
		Metadata core.ListMeta     `json:"metadata"`
		Items    []json.RawMessage `json:"items"`
	}{meta, raw})
}

func TestEnveloped(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, v := range []any{
		struct{}{},
		core.ListMeta{Continue: "c"},
		&core.Event{Metadata: core.ObjectMeta{ID: "a", Created: &now}, Source: "<s>"},
	} {
		got, err := enveloped("K", v)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceEnveloped(t, "K", v); string(got) != string(want) {
			t.Fatalf("enveloped:\n got %s\nwant %s", got, want)
		}
	}
	if _, err := enveloped("K", []int{1}); err == nil {
		t.Fatal("enveloped a non-object")
	}
}

func TestListBody(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	events := []core.Event{
		{Metadata: core.ObjectMeta{ID: "a", Created: &now}, ProjectID: "p", Source: "<src>&", Type: "push",
			Labels: map[string]string{"k": "v"}, Worker: &core.Worker{Status: core.WorkerStatus{Phase: core.PhasePending}}},
		{Metadata: core.ObjectMeta{ID: "b"}, ProjectID: "p", Source: "s", Type: "t", Payload: `{"x":"\u2028"}`},
	}
	for _, tc := range []struct {
		name  string
		items []core.Event
		meta  core.ListMeta
	}{
		{"Empty", nil, core.ListMeta{}},
		{"One", events[:1], core.ListMeta{}},
		{"TwoWithMore", events, core.ListMeta{Continue: "x:y", RemainingItemCount: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := listBody("EventList", "Event", tc.items, tc.meta)
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceListBody(t, "EventList", "Event", tc.items, tc.meta); string(got) != string(want) {
				t.Fatalf("listBody:\n got %s\nwant %s", got, want)
			}
		})
	}
	t.Run("EmptyObjectItems", func(t *testing.T) {
		items := []struct{}{{}, {}}
		got, err := listBody("L", "I", items, core.ListMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceListBody(t, "L", "I", items, core.ListMeta{}); string(got) != string(want) {
			t.Fatalf("listBody:\n got %s\nwant %s", got, want)
		}
	})
}
