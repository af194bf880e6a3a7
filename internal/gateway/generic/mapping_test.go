package generic

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

func refusedWith(t *testing.T, err error, status int, text string) {
	t.Helper()
	var r *refusal
	if !errors.As(err, &r) || r.status != status || !strings.Contains(r.msg, text) {
		t.Fatalf("got %v, want a %d refusal saying %q", err, status, text)
	}
}

func TestSimpleEvent(t *testing.T) {
	for _, c := range []struct {
		name, body string
		git        *core.GitDetails
	}{
		{"Empty", "", nil},
		{"Blank", " \n", nil},
		{"EmptyObject", "{}", nil},
		{"Null", "null", nil},
		{"OtherFields", `{"who":"me","ref":null}`, nil},
		{"Ref", `{"ref":"refs/heads/dev"}`, &core.GitDetails{Ref: "refs/heads/dev"}},
		{"RefAndCommit", `{"ref":"main","commit":"0123456789abcdef"}`, &core.GitDetails{Ref: "main", Commit: "0123456789abcdef"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := simpleEvent("proj", []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if ev.ProjectID != "proj" || ev.Source != core.GenericGatewaySource || ev.Type != TypeSimpleEvent ||
				ev.Payload != c.body || ev.Qualifiers != nil {
				t.Fatalf("event %+v", ev)
			}
			if (ev.Git == nil) != (c.git == nil) || (c.git != nil && *ev.Git != *c.git) {
				t.Fatalf("git %+v, want %+v", ev.Git, c.git)
			}
		})
	}
	for _, body := range []string{"{", "[1]", `"text"`, "42", `{"ref":1}`, `{"commit":{}}`} {
		_, err := simpleEvent("proj", []byte(body))
		refusedWith(t, err, http.StatusBadRequest, malformed)
	}
}

func TestCloudEvent(t *testing.T) {
	base := `"specversion":"0.2","id":"A234-1234-1234","type":"com.github.pull.create","source":"https://github.com/cloudevents/spec/pull/123"`
	t.Run("Mapped", func(t *testing.T) {
		body := `{` + base + `,"contenttype":"application/json","data":{"ref":"refs/tags/v1","commit":"abcdef0123456789","x":[1]}}`
		ev, err := cloudEvent("proj", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"source": "https://github.com/cloudevents/spec/pull/123", "type": "com.github.pull.create"}
		if ev.ProjectID != "proj" || ev.Source != core.GenericGatewaySource || ev.Type != TypeCloudEvent ||
			ev.Payload != body || len(ev.Qualifiers) != 2 || ev.Qualifiers["source"] != want["source"] || ev.Qualifiers["type"] != want["type"] {
			t.Fatalf("event %+v", ev)
		}
		if ev.Git == nil || ev.Git.Ref != "refs/tags/v1" || ev.Git.Commit != "abcdef0123456789" {
			t.Fatalf("git %+v", ev.Git)
		}
	})
	for _, data := range []string{``, `,"data":"text"`, `,"data":[1,2]`, `,"data":null`, `,"data":7`, `,"data":{"other":1}`} {
		ev, err := cloudEvent("proj", []byte(`{`+base+data+`}`))
		if err != nil || ev.Git != nil {
			t.Fatalf("data %s: %+v %v, want no git fields", data, ev, err)
		}
	}
	for _, c := range []struct{ body, text string }{
		{``, malformed},
		{`[]`, malformed},
		{`null`, malformed},
		{`{"id":"1","type":"t","source":"s"}`, `no "specversion"`},
		{`{"specversion":"0.2","type":"t","source":"s"}`, `no "id"`},
		{`{"specversion":"0.2","id":"1","source":"s"}`, `no "type"`},
		{`{"specversion":"0.2","id":"1","type":"t","source":""}`, `no "source"`},
		{`{"specversion":0.2,"id":"1","type":"t","source":"s"}`, `"specversion" must be a string`},
		{`{"specversion":"1.0","id":"1","type":"t","source":"s"}`, `specversion is "1.0"`},
		{`{` + base + `,"data":{"ref":true}}`, "data.ref must be a string"},
	} {
		_, err := cloudEvent("proj", []byte(c.body))
		refusedWith(t, err, http.StatusBadRequest, c.text)
	}
	// A source the qualifier rule refuses is refused, not dropped: a
	// dropped qualifier would route the event to other subscriptions.
	_, err := cloudEvent("proj", []byte(`{"specversion":"0.2","id":"1","type":"t","source":"https://example.com/a b#c"}`))
	refusedWith(t, err, http.StatusUnprocessableEntity, "cannot be an event qualifier")
	_, err = cloudEvent("proj", []byte(`{"specversion":"0.2","id":"1","type":"`+strings.Repeat("t", 256)+`","source":"s"}`))
	refusedWith(t, err, http.StatusUnprocessableEntity, "type")
}

func TestDeliveryKey(t *testing.T) {
	if k, err := deliveryKey("simpleevents", "proj", ""); k != "" || err != nil {
		t.Fatalf("no header: %q %v", k, err)
	}
	if k, _ := deliveryKey("simpleevents", "proj", "d-1"); k != "simpleevents/proj/d-1" {
		t.Fatalf("key %q", k)
	}
	long := strings.Repeat("k", 250)
	k, err := deliveryKey("cloudevents", "proj", long)
	if err != nil || len(k) > maxKey || !strings.HasPrefix(k, "cloudevents/proj/sha256:") {
		t.Fatalf("long key: %q %v", k, err)
	}
	if other, _ := deliveryKey("cloudevents", "proj", long[:249]+"y"); other == k {
		t.Fatal("two long keys map to one")
	}
	_, err = deliveryKey("simpleevents", "proj", strings.Repeat("k", 256))
	refusedWith(t, err, http.StatusBadRequest, "at most 255")
	_, err = deliveryKey("simpleevents", "proj", "a\tb")
	refusedWith(t, err, http.StatusBadRequest, "control characters")
}
