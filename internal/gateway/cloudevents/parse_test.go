package cloudevents

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func binaryHeaders(kv ...string) http.Header {
	return headers(append([]string{"ce-specversion", "1.0", "ce-id", "1", "ce-source", "/s", "ce-type", "t"}, kv...)...)
}

func status(err error) int {
	if p, ok := errors.AsType[*problem](err); ok {
		return p.status
	}
	return 0
}

func TestParseDetectsTheMode(t *testing.T) {
	one := `{"specversion":"1.0","id":"1","source":"/s","type":"t"}`
	for _, c := range []struct {
		name   string
		header http.Header
		body   string
		want   int // events, or the refusal's status
	}{
		{"Structured", headers("Content-Type", "application/cloudevents+json"), one, 1},
		{"StructuredAnyCase", headers("Content-Type", "Application/CloudEvents+JSON; charset=utf-8"), one, 1},
		{"Batch", headers("Content-Type", "application/cloudevents-batch+json"), "[" + one + "," + one + "]", 2},
		{"EmptyBatch", headers("Content-Type", "application/cloudevents-batch+json"), "[]", 0},
		{"LargestBatch", headers("Content-Type", mediaBatch), "[" + strings.Repeat(one+",", maxBatch-1) + one + "]", maxBatch},
		{"BatchTooLarge", headers("Content-Type", mediaBatch), "[" + strings.Repeat(one+",", maxBatch) + one + "]", 413},
		{"BatchNotAnArray", headers("Content-Type", "application/cloudevents-batch+json"), one, 400},
		{"BatchOfNonObjects", headers("Content-Type", "application/cloudevents-batch+json"), "[1]", 400},
		{"Binary", binaryHeaders("Content-Type", "application/json"), `{}`, 1},
		{"BinaryWithoutBody", binaryHeaders(), ``, 1},
		{"OtherFormat", headers("Content-Type", "application/cloudevents+avro"), one, 415},
		{"PlainJSON", headers("Content-Type", "application/json"), one, 415},
		{"NothingAtAll", headers(), "", 415},
		{"StructuredWinsOverHeaders", headers("Content-Type", "application/cloudevents+json", "ce-specversion", "1.0"), one, 1},
		{"StructuredNull", headers("Content-Type", "application/cloudevents+json"), "null", 400},
		{"StructuredArray", headers("Content-Type", "application/cloudevents+json"), "[" + one + "]", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs, err := parse(c.header, []byte(c.body))
			got := len(evs)
			if err != nil {
				got = status(err)
			}
			if got != c.want {
				t.Fatalf("got %d (%v), want %d", got, err, c.want)
			}
		})
	}
}

func TestBinaryMode(t *testing.T) {
	for _, c := range []struct {
		name   string
		header http.Header
		body   string
		want   string // the structured form, or the refusal's reason
	}{
		{"PercentDecodedOnce", binaryHeaders("ce-subject", "a%20b%2520c%22%C3%A9+"), "",
			`{"id":"1","source":"/s","specversion":"1.0","subject":"a b%20c\"é+","type":"t"}`},
		{"JSONData", binaryHeaders("Content-Type", "application/vnd.x+json"), `{"a": [1, 2]}`,
			`{"data":{"a":[1,2]},"datacontenttype":"application/vnd.x+json","id":"1","source":"/s","specversion":"1.0","type":"t"}`},
		{"TextData", binaryHeaders("Content-Type", "text/plain"), "héllo",
			`{"data":"héllo","datacontenttype":"text/plain","id":"1","source":"/s","specversion":"1.0","type":"t"}`},
		{"BinaryData", binaryHeaders("Content-Type", "image/png"), "\x89PNG",
			`{"data_base64":"iVBORw==","datacontenttype":"image/png","id":"1","source":"/s","specversion":"1.0","type":"t"}`},
		{"TextThatIsNotUTF8", binaryHeaders("Content-Type", "text/plain"), "\xff",
			`{"data_base64":"/w==","datacontenttype":"text/plain","id":"1","source":"/s","specversion":"1.0","type":"t"}`},
		{"NoContentTypeJSON", binaryHeaders(), `[1]`,
			`{"data":[1],"id":"1","source":"/s","specversion":"1.0","type":"t"}`},
		{"NoContentTypeText", binaryHeaders(), `hi`,
			`{"data":"hi","id":"1","source":"/s","specversion":"1.0","type":"t"}`},
		{"Version03Bytes", binaryHeaders("ce-specversion", "0.3", "Content-Type", "application/octet-stream"), "\x00",
			`{"data":"AA==","datacontentencoding":"base64","datacontenttype":"application/octet-stream","id":"1","source":"/s","specversion":"0.3","type":"t"}`},
		{"DataContentTypeHeaderIgnored", binaryHeaders("ce-datacontenttype", "text/plain"), "",
			`{"id":"1","source":"/s","specversion":"1.0","type":"t"}`},
		{"InvalidJSON", binaryHeaders("Content-Type", "application/json"), `{`, "not valid JSON"},
		{"BadPercentEncoding", binaryHeaders("ce-subject", "100%"), "", "percent-encoded"},
		{"NotUTF8", binaryHeaders("ce-subject", "%ff"), "", "percent-encoded"},
		{"BadAttributeName", binaryHeaders("ce-my_ext", "x"), "", "attribute name"},
		{"DataHeader", binaryHeaders("ce-data", "x"), "", "the data is the body"},
		{"MissingSource", binaryHeaders("ce-source", ""), "", "non-empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs, err := parse(c.header, []byte(c.body))
			got := ""
			if err != nil {
				got = err.Error()
				if status(err) != http.StatusBadRequest {
					t.Fatalf("refused with %d: %v", status(err), err)
				}
			} else {
				got = evs[0].structured()
			}
			if !strings.Contains(got, c.want) || err == nil && got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name, body, want string // want: "" for a good event, else part of the reason
	}{
		{"Minimal", `{"specversion":"1.0","id":"1","source":"/s","type":"t"}`, ""},
		{"Extensions", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext1":1,"flag":true,"x":"y"}`, ""},
		{"NullIsAbsent", `{"specversion":"1.0","id":"1","source":"/s","type":"t","subject":null}`, ""},
		{"NullRequired", `{"specversion":"1.0","id":null,"source":"/s","type":"t"}`, "no id"},
		{"NumberID", `{"specversion":"1.0","id":1,"source":"/s","type":"t"}`, "non-empty string"},
		{"NumberVersion", `{"specversion":1.0,"id":"1","source":"/s","type":"t"}`, "not supported"},
		{"Version02", `{"specversion":"0.2","id":"1","source":"/s","type":"t"}`, "not supported"},
		{"Version03", `{"specversion":"0.3","id":"1","source":"/s","type":"t"}`, ""},
		{"UpperCaseName", `{"specversion":"1.0","id":"1","source":"/s","type":"t","Ext":"x"}`, "attribute name"},
		{"ObjectAttribute", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":{}}`, "string, number or boolean"},
		{"BothData", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":1,"data_base64":"AA=="}`, "both"},
		{"BadBase64", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"!!"}`, "base64"},
		{"Time", `{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"2026-12-02T08:00:00.5+01:00"}`, ""},
		{"BadTime", `{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"2026-12-02"}`, "RFC 3339"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := structuredEvent([]byte(c.body), "")
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestBatchNamesTheElement(t *testing.T) {
	body := `[{"specversion":"1.0","id":"1","source":"/s","type":"t"},{"specversion":"1.0","source":"/s","type":"t"}]`
	_, err := parse(headers("Content-Type", mediaBatch), []byte(body))
	if err == nil || !strings.HasPrefix(err.Error(), "batch element 1: ") {
		t.Fatalf("got %v", err)
	}
}

func TestStructuredKeepsTheData(t *testing.T) {
	body := `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"z":1,"a":[true, null]}}`
	e, err := structuredEvent([]byte(body), "")
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(e.structured()), &back); err != nil {
		t.Fatal(err)
	}
	if d := back["data"].(map[string]any); d["z"] != 1.0 || len(d["a"].([]any)) != 2 {
		t.Fatalf("data %v", back["data"])
	}
}
