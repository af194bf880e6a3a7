package schema

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestDetails pins the exact wording of every kind of violation the schemas
// can report. Clients match on these lines: they are the ones the
// santhosh-tekuri/jsonschema validator, which this package replaced,
// produced (checked against it body by body when it was replaced), except
// that a name violation in a map is now always reported at the map.
func TestDetails(t *testing.T) {
	cases := []struct {
		name, kind, body string
		want             []string // nil means valid
	}{
		{"MissingOneProperty", Secret, `{"apiVersion":"brigade.sh/v2","key":"k","value":"v"}`,
			[]string{"(root): missing property 'kind'"}},
		{"MissingProperties", Project, `{"apiVersion":"brigade.sh/v2","kind":"Project"}`,
			[]string{"(root): missing properties 'metadata', 'spec'"}},
		// Unknown properties are listed in the order the body has them.
		{"AdditionalPropertiesInDocumentOrder", Event, `{"specversion":"1.0","id":"1","apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec"}`,
			[]string{"(root): additional properties 'specversion', 'id' not allowed"}},
		// Names are quoted as Go literals, but with double quotes bare, single
		// quotes escaped and a backslash that ends a name shown once.
		{"AdditionalPropertyQuoting", Secret, `{"apiVersion":"brigade.sh/v2","kind":"Secret","key":"k","value":"v","it's":1,"x\\":2,"q\"":3,"tab\t":4,"ü":5}`,
			[]string{"(root): additional properties 'it\\'s', 'x\\', 'q\"', 'tab\\t', 'ü' not allowed"}},
		{"WrongTypes", Job, `{"apiVersion":1,"kind":null,"name":[],"spec":{"primaryContainer":{"command":"x","privileged":"yes","environment":[]},"fallible":0,"host":"h"}}`,
			[]string{"apiVersion: got number, want string",
				"kind: got null, want string",
				"name: got array, want string",
				"spec.fallible: got number, want boolean",
				"spec.host: got string, want null or object",
				"spec.primaryContainer.command: got string, want null or array",
				"spec.primaryContainer.environment: got array, want null or object",
				"spec.primaryContainer.privileged: got string, want boolean"}},
		{"RootNotAnObject", Event, `[]`,
			[]string{"(root): got array, want object"}},
		{"RootNull", SourceStateRequest, `null`,
			[]string{"(root): got null, want object"}},
		{"EnumOne", Secret, `{"apiVersion":"brigade.sh/v1","kind":"Secrets","key":"k","value":"v"}`,
			[]string{"apiVersion: value must be 'brigade.sh/v2'",
				"kind: value must be 'Secret'"}},
		{"EnumMany", Job, `{"apiVersion":"brigade.sh/v2","kind":"Job","spec":{"primaryContainer":{"imagePullPolicy":"always"},"host":{"os":"darwin"}}}`,
			[]string{"spec.host.os: value must be one of '', 'linux', 'windows'",
				"spec.primaryContainer.imagePullPolicy: value must be one of '', 'IfNotPresent', 'Always'"}},
		{"EnumPhase", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"TIMED_OUT"}`,
			[]string{"phase: value must be one of 'ABORTED', 'CANCELED', 'FAILED', 'PENDING', 'RUNNING', 'SCHEDULING_FAILED', 'STARTING', 'SUCCEEDED', 'UNKNOWN'"}},
		{"MinLengthMaxLengthPattern", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"a b","type":"","shortTitle":"` + strings.Repeat("s", 51) + `","longTitle":"` + strings.Repeat("ü", 101) + `"}`,
			[]string{"longTitle: maxLength: got 101, want 100",
				"shortTitle: maxLength: got 51, want 50",
				"source: 'a b' does not match pattern '^[\\\\w:/\\\\-\\\\.\\\\?=@]*$'",
				"source: minLength: got 3, want 5",
				"type: minLength: got 0, want 1"}},
		// Counts are written with thousands separators.
		{"ThousandsInCounts", EventSummary, `{"apiVersion":"brigade.sh/v2","kind":"EventSummary","text":"` + strings.Repeat("t", 12345) + `"}`,
			[]string{"text: maxLength: got 12,345, want 4,096"}},
		{"PatternQuoting", Project, `{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"it's\\"},"description":"a\u0000b","spec":{"workerTemplate":{"timeoutDuration":"1µ","git":{"commit":"xyz"}}}}`,
			[]string{"metadata.id: 'it\\'s\\' does not match pattern '^[a-z][a-z\\\\d-]*[a-z\\\\d]$'",
				"spec.workerTemplate.git.commit: 'xyz' does not match pattern '^$|^[a-fA-F0-9]{8,40}$'",
				"spec.workerTemplate.timeoutDuration: '1µ' does not match pattern '^$|^([0-9]+(\\\\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$'"}},
		{"ItemsAndMinItems", Project, `{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"demo"},"spec":{"eventSubscriptions":[{"source":"brigade.sh/cli","types":[]},{"types":["ok","a b",1]}],"workerTemplate":{"kubernetes":{"imagePullSecrets":["ab",null]}}}}`,
			[]string{"spec.eventSubscriptions.0.types: minItems: got 0, want 1",
				"spec.eventSubscriptions.1.types.1: 'a b' does not match pattern '^[\\\\w:/\\\\-\\\\.\\\\?=\\\\*]*$'",
				"spec.eventSubscriptions.1.types.2: got number, want string",
				"spec.eventSubscriptions.1: missing property 'source'",
				"spec.workerTemplate.kubernetes.imagePullSecrets.0: minLength: got 2, want 3",
				"spec.workerTemplate.kubernetes.imagePullSecrets.1: got null, want string"}},
		{"RefMapNames", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec","qualifiers":{"a":"b","ok":"a b"},"labels":{"1x":"y"}}`,
			[]string{"labels: '1x' does not match pattern '^[a-zA-Z][a-zA-Z\\\\d-]*[a-zA-Z\\\\d]$'",
				"qualifiers.ok: 'a b' does not match pattern '^[\\\\w:/\\\\-\\\\.\\\\?=\\\\*]*$'",
				"qualifiers: 'a' does not match pattern '^[a-zA-Z][a-zA-Z\\\\d-]*[a-zA-Z\\\\d]$'"}},
		{"Quantities", Job, `{"apiVersion":"brigade.sh/v2","kind":"Job","spec":{"primaryContainer":{"resources":{"requests":{"cpu":"lots"},"limits":{"memory":"1.5Gb"}}},"cache":{"size":"5 Mi"}}}`,
			[]string{"spec.cache.size: '5 Mi' does not match pattern '^$|^[0-9]+(\\\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$'",
				"spec.primaryContainer.resources.limits.memory: '1.5Gb' does not match pattern '^$|^[0-9]+(\\\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$'",
				"spec.primaryContainer.resources.requests.cpu: 'lots' does not match pattern '^$|^[0-9]+(\\\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$'"}},
		{"AllOf", SourceStateRequest, `{"kind":"SourceState","extra":1,"state":{"ab":1}}`,
			[]string{"(root): additional properties 'extra' not allowed",
				"(root): missing property 'apiVersion'",
				"state.ab: got number, want string"}},
		{"SourceStateRequestWrongKind", SourceStateRequest, `{"apiVersion":"brigade.sh/v2","kind":"Source"}`,
			[]string{"kind: value must be 'SourceState'"}},
		{"DateTimeShort", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01","ended":"2023-01-01 00:00:00Z"}`,
			[]string{"ended: '2023-01-01 00:00:00Z' is not valid date-time: 11th character must be t or T",
				"started: '2023-01-01' is not valid date-time: less than 20 characters long"}},
		{"DateTimeDate", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-13-01T00:00:00Z","ended":"2023-02-30T00:00:00Z"}`,
			[]string{"ended: '2023-02-30T00:00:00Z' is not valid date-time: invalid date element: parsing time \"2023-02-30\": day out of range",
				"started: '2023-13-01T00:00:00Z' is not valid date-time: invalid date element: parsing time \"2023-13-01\": month out of range"}},
		{"DateTimeDateSyntax", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"20230101T000000Z00000","ended":"2023-1-01T00:00:00Z00"}`,
			[]string{"ended: '2023-1-01T00:00:00Z00' is not valid date-time: 11th character must be t or T",
				"started: '20230101T000000Z00000' is not valid date-time: 11th character must be t or T"}},
		{"DateTimeTime", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"2023-01-01T24:00:00Z","ended":"2023-01-01T00-00:00Z"}`,
			[]string{"ended: '2023-01-01T00-00:00Z' is not valid date-time: invalid time element: missing colon in correct place",
				"started: '2023-01-01T24:00:00Z' is not valid date-time: invalid time element: hour/min/sec out of range"}},
		{"DateTimeTimeDigits", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01Tab:00:00Z","ended":"2023-01-01T-1:00:00Z"}`,
			[]string{"ended: '2023-01-01T-1:00:00Z' is not valid date-time: invalid time element: non-positive hour/min/sec",
				"started: '2023-01-01Tab:00:00Z' is not valid date-time: invalid time element: invalid hour/min/sec"}},
		{"DateTimeFraction", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01T00:00:00.Z","ended":"2023-01-01T00:00:00.5"}`,
			[]string{"ended: '2023-01-01T00:00:00.5' is not valid date-time: invalid time element: offset must be 6 characters long",
				"started: '2023-01-01T00:00:00.Z' is not valid date-time: invalid time element: no digits in second fraction"}},
		{"DateTimeOffset", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01T00:00:00 05:30","ended":"2023-01-01T00:00:00+05-30"}`,
			[]string{"ended: '2023-01-01T00:00:00+05-30' is not valid date-time: invalid time element: missing colon in offset in correct place",
				"started: '2023-01-01T00:00:00 05:30' is not valid date-time: invalid time element: offset must begin with plus/minus"}},
		{"DateTimeOffsetValues", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01T00:00:00+24:00","ended":"2023-01-01T00:00:00+a5:30"}`,
			[]string{"ended: '2023-01-01T00:00:00+a5:30' is not valid date-time: invalid time element: invalid hour/min in offset",
				"started: '2023-01-01T00:00:00+24:00' is not valid date-time: invalid time element: hour/min in offset out of range"}},
		{"DateTimeOffsetNegative", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"2023-01-01T00:00:00+-5:30","ended":"2023-01-01T00:00:00+05"}`,
			[]string{"ended: '2023-01-01T00:00:00+05' is not valid date-time: invalid time element: offset must be 6 characters long",
				"started: '2023-01-01T00:00:00+-5:30' is not valid date-time: invalid time element: non-positive hour/min in offset"}},
		{"DateTimeLeapSecond", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"2023-01-01T22:59:60Z","ended":"2023-01-01T23:59:60+01:00"}`,
			[]string{"ended: '2023-01-01T23:59:60+01:00' is not valid date-time: invalid time element: invalid leap second",
				"started: '2023-01-01T22:59:60Z' is not valid date-time: invalid time element: invalid leap second"}},
		// A leap second is allowed at 23:59 UTC only.
		{"DateTimeLeapSecondOK", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"2023-01-01T23:59:60Z","ended":"2023-01-02T00:59:60+01:00"}`,
			nil},
		// A repeated member counts with its last value, as decoding it does.
		{"DuplicateKeysLastWins", Secret, `{"apiVersion":"brigade.sh/v2","kind":"Secret","key":"k","key":"1","value":"v"}`,
			[]string{"key: '1' does not match pattern '^[a-zA-Z]\\\\w*$'"}},
		// A name that breaks the rules for names is reported where its map is.
		{"InlineMapNames", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec","configFiles":{"../x":"y","":"z","ok.js":1},"sourceState":{"state":{"a":"b"}}}`,
			[]string{"configFiles.ok.js: got number, want string",
				"configFiles: '' does not match pattern '^[\\\\w.\\\\-]+(/[\\\\w.\\\\-]+)*$'",
				"configFiles: 'not' failed",
				"configFiles: minLength: got 0, want 1",
				"sourceState.state: 'a' does not match pattern '^[a-zA-Z][a-zA-Z\\\\d-]*[a-zA-Z\\\\d]$'"}},
		{"InlineMapNamesJob", Job, `{"apiVersion":"brigade.sh/v2","kind":"Job","spec":{"primaryContainer":{},"sidecarContainers":{"DB":{"image":1}}}}`,
			[]string{"spec.sidecarContainers.DB.image: got number, want string",
				"spec.sidecarContainers: 'DB' does not match pattern '^[a-z][a-z\\\\d-]*[a-z\\\\d]$'"}},
		{"InlineMapNamesSourceState", SourceStateRequest, `{"apiVersion":"brigade.sh/v2","kind":"SourceState","state":{"1":"x"}}`,
			[]string{"state: '1' does not match pattern '^[a-zA-Z][a-zA-Z\\\\d-]*[a-zA-Z\\\\d]$'"}},
		{"EverythingInAProject", Project, `{"apiVersion":"brigade.sh/v2","metadata":{"id":"De"},"spec":{"workerTemplate":{"logLevel":"x","foo":1}}}`,
			[]string{"(root): missing property 'kind'",
				"metadata.id: 'De' does not match pattern '^[a-z][a-z\\\\d-]*[a-z\\\\d]$'",
				"metadata.id: minLength: got 2, want 3",
				"spec.workerTemplate.logLevel: value must be one of '', 'DEBUG', 'INFO', 'WARN', 'ERROR'",
				"spec.workerTemplate: additional properties 'foo' not allowed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.kind, []byte(c.body))
			if c.want == nil {
				if err != nil {
					t.Fatalf("valid body refused: %v", err)
				}
				return
			}
			var bad *core.BadRequestError
			if !errors.As(err, &bad) || bad.Reason != ReasonInvalid {
				t.Fatalf("got %v, want a validation BadRequestError", err)
			}
			if !slices.Equal(bad.Details, c.want) {
				t.Errorf("details:\n  %s\nwant:\n  %s", strings.Join(bad.Details, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}
