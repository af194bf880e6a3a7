package schema

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

var goldenInputs = []struct{ name, kind, body string }{
	{"MissingOneProperty", Secret, `{"apiVersion":"brigade.sh/v2","key":"k","value":"v"}`},
	{"MissingProperties", Project, `{"apiVersion":"brigade.sh/v2","kind":"Project"}`},
	{"AdditionalPropertiesInDocumentOrder", Event, `{"specversion":"1.0","id":"1","apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec"}`},
	{"AdditionalPropertyQuoting", Secret, `{"apiVersion":"brigade.sh/v2","kind":"Secret","key":"k","value":"v","it's":1,"x\\":2,"q\"":3,"tab\t":4,"ü":5}`},
	{"WrongTypes", Job, `{"apiVersion":1,"kind":null,"name":[],"spec":{"primaryContainer":{"command":"x","privileged":"yes","environment":[]},"fallible":0,"host":"h"}}`},
	{"RootNotAnObject", Event, `[]`},
	{"RootNull", SourceStateRequest, `null`},
	{"EnumOne", Secret, `{"apiVersion":"brigade.sh/v1","kind":"Secrets","key":"k","value":"v"}`},
	{"EnumMany", Job, `{"apiVersion":"brigade.sh/v2","kind":"Job","spec":{"primaryContainer":{"imagePullPolicy":"always"},"host":{"os":"darwin"}}}`},
	{"EnumPhase", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"TIMED_OUT"}`},
	{"MinLengthMaxLengthPattern", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"a b","type":"","shortTitle":"` + strings.Repeat("s", 51) + `","longTitle":"` + strings.Repeat("ü", 101) + `"}`},
	{"ThousandsInCounts", EventSummary, `{"apiVersion":"brigade.sh/v2","kind":"EventSummary","text":"` + strings.Repeat("t", 12345) + `"}`},
	{"PatternQuoting", Project, `{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"it's\\"},"description":"a\u0000b","spec":{"workerTemplate":{"timeoutDuration":"1µ","git":{"commit":"xyz"}}}}`},
	{"ItemsAndMinItems", Project, `{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"demo"},"spec":{"eventSubscriptions":[{"source":"brigade.sh/cli","types":[]},{"types":["ok","a b",1]}],"workerTemplate":{"kubernetes":{"imagePullSecrets":["ab",null]}}}}`},
	{"RefMapNames", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec","qualifiers":{"a":"b","ok":"a b"},"labels":{"1x":"y"}}`},
	{"Quantities", Job, `{"apiVersion":"brigade.sh/v2","kind":"Job","spec":{"primaryContainer":{"resources":{"requests":{"cpu":"lots"},"limits":{"memory":"1.5Gb"}}},"cache":{"size":"5 Mi"}}}`},
	{"AllOf", SourceStateRequest, `{"kind":"SourceState","extra":1,"state":{"ab":1}}`},
	{"SourceStateRequestWrongKind", SourceStateRequest, `{"apiVersion":"brigade.sh/v2","kind":"Source"}`},
	{"DateTimeShort", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01","ended":"2023-01-01 00:00:00Z"}`},
	{"DateTimeDate", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-13-01T00:00:00Z","ended":"2023-02-30T00:00:00Z"}`},
	{"DateTimeDateSyntax", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"20230101T000000Z00000","ended":"2023-1-01T00:00:00Z00"}`},
	{"DateTimeTime", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"2023-01-01T24:00:00Z","ended":"2023-01-01T00-00:00Z"}`},
	{"DateTimeTimeDigits", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01Tab:00:00Z","ended":"2023-01-01T-1:00:00Z"}`},
	{"DateTimeFraction", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01T00:00:00.Z","ended":"2023-01-01T00:00:00.5"}`},
	{"DateTimeOffset", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01T00:00:00 05:30","ended":"2023-01-01T00:00:00+05-30"}`},
	{"DateTimeOffsetValues", JobStatus, `{"apiVersion":"brigade.sh/v2","kind":"JobStatus","phase":"RUNNING","started":"2023-01-01T00:00:00+24:00","ended":"2023-01-01T00:00:00+a5:30"}`},
	{"DateTimeOffsetNegative", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"2023-01-01T00:00:00+-5:30","ended":"2023-01-01T00:00:00+05"}`},
	{"DateTimeLeapSecond", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"2023-01-01T22:59:60Z","ended":"2023-01-01T23:59:60+01:00"}`},
	{"DateTimeLeapSecondOK", WorkerStatus, `{"apiVersion":"brigade.sh/v2","kind":"WorkerStatus","phase":"RUNNING","started":"2023-01-01T23:59:60Z","ended":"2023-01-02T00:59:60+01:00"}`},
	{"DuplicateKeysLastWins", Secret, `{"apiVersion":"brigade.sh/v2","kind":"Secret","key":"k","key":"1","value":"v"}`},
	{"InvalidUTF8", Secret, "{\"apiVersion\":\"brigade.sh/v2\",\"kind\":\"Secret\",\"key\":\"\xff\",\"value\":\"v\"}"},
	{"InlineMapNames", Event, `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"brigade.sh/cli","type":"exec","configFiles":{"../x":"y","":"z","ok.js":1},"sourceState":{"state":{"a":"b"}}}`},
	{"InlineMapNamesJob", Job, `{"apiVersion":"brigade.sh/v2","kind":"Job","spec":{"primaryContainer":{},"sidecarContainers":{"DB":{"image":1}}}}`},
	{"InlineMapNamesSourceState", SourceStateRequest, `{"apiVersion":"brigade.sh/v2","kind":"SourceState","state":{"1":"x"}}`},
	{"EverythingInAProject", Project, `{"apiVersion":"brigade.sh/v2","metadata":{"id":"De"},"spec":{"workerTemplate":{"logLevel":"x","foo":1}}}`},
}

func TestPrintGolden(t *testing.T) {
	var b strings.Builder
	for _, g := range goldenInputs {
		err := oldValidate(g.kind, []byte(g.body))
		var bad *core.BadRequestError
		var details []string
		if err != nil {
			if !errors.As(err, &bad) {
				t.Fatal(err)
			}
			details = bad.Details
		}
		newErr := Validate(g.kind, []byte(g.body))
		same := fmt.Sprint(err) == fmt.Sprint(newErr)
		fmt.Fprintf(&b, "// %s same=%v old=%q\n", g.name, same, details)
		details = nil
		if errors.As(newErr, &bad) {
			details = bad.Details
		}
		b.WriteString("[]string{")
		for i, d := range details {
			if i > 0 {
				b.WriteString(",\n\t\t\t")
			}
			fmt.Fprintf(&b, "%q", d)
		}
		b.WriteString("}\n")
	}
	t.Log("\n" + b.String())
}

func BenchmarkOld(b *testing.B) {
	body := []byte(fullBodies[Project])
	bad := []byte(`{"apiVersion":"brigade.sh/v2","metadata":{"id":"De"},"spec":{"workerTemplate":{"logLevel":"x","foo":1}}}`)
	oldValidate(Project, body)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		oldValidate(Project, body)
		oldValidate(Project, bad)
	}
}

func BenchmarkNew(b *testing.B) {
	body := []byte(fullBodies[Project])
	bad := []byte(`{"apiVersion":"brigade.sh/v2","metadata":{"id":"De"},"spec":{"workerTemplate":{"logLevel":"x","foo":1}}}`)
	Validate(Project, body)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Validate(Project, body)
		Validate(Project, bad)
	}
}

func BenchmarkFirstValidateNew(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := compileAll(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFirstValidateOld(b *testing.B) {
	for i := 0; i < b.N; i++ {
		oldOnce = sync.Once{}
		oldValidate(Project, []byte(`{}`))
	}
}
