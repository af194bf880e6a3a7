package schema

import (
	"errors"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name, kind, body string
		wantDetails      []string // substrings; nil means valid
	}{
		{"MinimalProject", Project, `{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"demo"},"spec":{"workerTemplate":{}}}`, nil},
		{"ProjectEveryProblemListed", Project, `{"apiVersion":"brigade.sh/v2","metadata":{"id":"De"},"spec":{"workerTemplate":{"logLevel":"x","foo":1}}}`,
			[]string{"(root): missing property 'kind'", "metadata.id", "spec.workerTemplate.logLevel", "'foo' not allowed"}},
		{"EventEmptyProjectIDAllowed", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec","projectID":""}`, nil},
		{"EventSourceStateWithEnvelope", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec","sourceState":{"kind":"SourceState","state":{"ab":"c"}}}`, nil},
		{"EventBadFields", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"ab","type":"x","projectID":"BAD","git":{"commit":"xyz"}}`,
			[]string{"source: minLength", "projectID", "git.commit"}},
		{"EventBadQualifierKeyNamesItsPlace", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec","qualifiers":{"a":"b"}}`,
			[]string{"qualifiers: "}},
		{"WorkerStatusRefusesTimedOut", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"TIMED_OUT"}`,
			[]string{"phase"}},
		{"WorkerStatusNullTimes", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":null}`, nil},
		{"JobEnvValuesMustBeStrings", Job, `{"apiVersion":"brigade.sh/v2","kind":"Job","name":"ab","spec":{"primaryContainer":{"environment":{"A":1}}}}`,
			[]string{"spec.primaryContainer.environment.A"}},
		{"SecretKeyPattern", Secret, `{"apiVersion":"brigade.sh/v2","kind":"Secret","key":"1x","value":"v"}`, []string{"key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.kind, []byte(c.body))
			if c.wantDetails == nil {
				if err != nil {
					t.Fatalf("valid body refused: %v", err)
				}
				return
			}
			var bad *core.BadRequestError
			if !errors.As(err, &bad) || bad.Reason != ReasonInvalid {
				t.Fatalf("got %v, want a validation BadRequestError", err)
			}
			all := strings.Join(bad.Details, "\n")
			for _, want := range c.wantDetails {
				if !strings.Contains(all, want) {
					t.Errorf("details lack %q:\n%s", want, all)
				}
			}
		})
	}
	t.Run("MalformedJSON", func(t *testing.T) {
		var bad *core.BadRequestError
		if err := Validate(Event, []byte(`{bad`)); !errors.As(err, &bad) || bad.Reason != ReasonMalformed {
			t.Fatalf("got %v", err)
		}
	})
}

func TestJobAdditions(t *testing.T) {
	ok := `{"apiVersion":"brigade.sh/v2","kind":"Job","name":"v1-job","spec":{
		"primaryContainer":{"image":"x","resources":{"requests":{"cpu":"500m","memory":"64Mi"},"limits":{"cpu":"1"}},
		"serviceAccount":"builder","useHostDockerSocket":true},
		"host":{"name":"node-1","nodeSelector":{"disk":"ssd"}},"cache":{"path":"/cache","size":"5Mi"}}}`
	if err := Validate(Job, []byte(ok)); err != nil {
		t.Fatalf("additions refused: %v", err)
	}
	bad := `{"apiVersion":"brigade.sh/v2","kind":"Job","name":"v1-job","spec":{
		"primaryContainer":{"image":"x","resources":{"requests":{"cpu":"lots"}}}}}`
	if err := Validate(Job, []byte(bad)); err == nil {
		t.Fatal("a bad quantity was accepted")
	}
}
