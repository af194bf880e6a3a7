package schema

import (
	"errors"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

func TestInvalidUTF8NamesTheString(t *testing.T) {
	cases := []struct{ body, where, what string }{
		{"\"\xff\"", "(root)", "the string"},
		{"{\"a\":1,\"description\":\"ok \xc3\x28\"}", "description", "the string"},
		{"{\"spec\":{\"workerTemplate\":{\"env\":{\"K\":\"v\"},\"logLevel\":\"\xff\"}}}", "spec.workerTemplate.logLevel", "the string"},
		{"{\"x\":[1,{\"y\":\"a\"},[\"b\",\"\xfe\"]]}", "x.2.1", "the string"},
		{"{\"x\":{\"k\xff\":\"v\"}}", "x", "a property name"},
		{"{\"a\":\"\\u00e9\",\"b\":[{}],\"c\":\"\xed\xa0\x80\"}", "c", "the string"},
		{"{\"apiVersion\":\"brigade.sh/v2\",\"kind\":\"Secret\",\"key\":\"\xff\",\"value\":\"v\"}", "key", "the string"},
	}
	for _, c := range cases {
		err := checkUTF8([]byte(c.body))
		var bad *core.BadRequestError
		if !errors.As(err, &bad) || bad.Reason != ReasonNotUTF8 || len(bad.Details) != 1 {
			t.Errorf("%q: got %v", c.body, err)
			continue
		}
		if d := bad.Details[0]; !strings.HasPrefix(d, c.where+": ") || !strings.Contains(d, c.what) {
			t.Errorf("%q: detail %q, want it at %q saying %q", c.body, d, c.where, c.what)
		}
	}
	if err := checkUTF8([]byte(`{"a":"é ✓ 😀"}`)); err != nil {
		t.Errorf("valid UTF-8 refused: %v", err)
	}
}

func TestValidateRefusesInvalidUTF8(t *testing.T) {
	err := Validate(Project, []byte(`{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"demo"},"description":"caf`+"\xe9"+`"}`))
	var bad *core.BadRequestError
	if !errors.As(err, &bad) || bad.Reason != ReasonNotUTF8 || !strings.HasPrefix(bad.Details[0], "description: ") {
		t.Fatalf("got %v", err)
	}
}
