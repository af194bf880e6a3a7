package httpapi

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/schema"
)

// FuzzDecodeBody feeds arbitrary bytes to every request decoder: each must
// either accept the body or refuse it with a BadRequestError, never panic
// or fail in another way.
func FuzzDecodeBody(f *testing.F) {
	seeds := []string{
		`{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"demo"},"spec":{"workerTemplate":{"logLevel":"DEBUG"}}}`,
		`{"apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec","qualifiers":{"ab":"c"},"payload":"x"}`,
		`{"apiVersion":"brigade.sh/v2","kind":"Job","name":"a1","spec":{"primaryContainer":{"image":"x","environment":{"A":"b"}}}}`,
		`{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"2023-01-01T00:00:00Z"}`,
		`{"apiVersion":"brigade.sh/v2","kind":"Secret","key":"k","value":"v"}`,
		`{"apiVersion":"brigade.sh/v2","kind":"SourceState","state":{"ab":"c"}}`,
		`{"apiVersion":"brigade.sh/v2","kind":"LogLines","after":3,"lines":[{"message":"hi","time":"2023-01-01T00:00:00Z"}],"close":true}`,
		`{"apiVersion":"brigade.sh/v2","kind":"ServiceAccount","metadata":{"id":"robot"},"description":"d"}`,
		`{"apiVersion":"brigade.sh/v2","kind":"RoleAssignment","role":"READER","principal":{"type":"USER","id":"a@b"}}`,
		`{"apiVersion":"brigade.sh/v2","kind":"ProjectRoleAssignment","role":"PROJECT_USER","principal":{"type":"SERVICE_ACCOUNT","id":"x"}}`,
		`{"apiVersion":"brigade.sh/v2","kind":"GenericGatewaySecretVerification","value":"s"}`,
		"{\"apiVersion\":\"brigade.sh/v2\",\"kind\":\"Project\",\"description\":\"caf\xe9\"}",
		`{}`, `null`, `[]`, `{"kind":1}`, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"\u0000"}`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	kinds := []string{schema.Project, schema.Event, schema.Job, schema.JobStatus, schema.WorkerStatus,
		schema.SourceStateRequest, schema.EventSummary, schema.Secret, schema.LogLines, schema.ServiceAccount,
		schema.RoleAssignment, schema.ProjectRoleAssignment, schema.GenericGatewaySecretVerification}
	f.Fuzz(func(t *testing.T, body []byte, k uint8) {
		kind := kinds[int(k)%len(kinds)]
		var targets = map[string]any{
			schema.Project: &core.Project{}, schema.Event: &core.Event{}, schema.Job: &core.Job{},
			schema.JobStatus: &core.JobStatus{}, schema.WorkerStatus: &core.WorkerStatus{},
			schema.SourceStateRequest: &core.SourceState{}, schema.EventSummary: &struct{ Text string }{},
			schema.Secret: &core.Secret{},
			schema.LogLines: &struct {
				After int64           `json:"after"`
				Lines []core.LogEntry `json:"lines"`
				Close bool            `json:"close"`
			}{},
			schema.ServiceAccount: &core.ServiceAccount{}, schema.RoleAssignment: &core.RoleAssignment{},
			schema.ProjectRoleAssignment: &core.ProjectRoleAssignment{},
			schema.GenericGatewaySecretVerification: &struct {
				Value string `json:"value"`
			}{},
		}
		err := decodeBody(body, kind, targets[kind])
		var bad *core.BadRequestError
		if err != nil && !errors.As(err, &bad) {
			t.Fatalf("decoding %s: unexpected error type %T: %v", kind, err, err)
		}
		// What is accepted is stored as sent: never with bytes replaced.
		if err == nil && !utf8.Valid(body) {
			t.Fatalf("decoding %s: accepted a body that is not UTF-8", kind)
		}
	})
}
