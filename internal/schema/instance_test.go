package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// refParse is the parser parse replaced, on encoding/json's token reader:
// what parse must agree with on every document json.Valid accepts.
func refParse(body []byte) (*value, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	v, err := refParseValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return v, nil
}

func refParseValue(d *json.Decoder) (*value, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &value{typ: typeNull}, nil
	case bool:
		return &value{typ: typeBoolean}, nil
	case json.Number:
		return &value{typ: typeNumber}, nil
	case string:
		return &value{typ: typeString, str: t}, nil
	case json.Delim:
		switch t {
		case '{':
			v := &value{typ: typeObject}
			for d.More() {
				tok, err := d.Token()
				if err != nil {
					return nil, err
				}
				name, ok := tok.(string)
				if !ok {
					return nil, fmt.Errorf("object member name is %v", tok)
				}
				val, err := refParseValue(d)
				if err != nil {
					return nil, err
				}
				v.set(name, val)
			}
			if _, err := d.Token(); err != nil { // '}'
				return nil, err
			}
			return v, nil
		case '[':
			v := &value{typ: typeArray}
			for d.More() {
				item, err := refParseValue(d)
				if err != nil {
					return nil, err
				}
				v.items = append(v.items, item)
			}
			if _, err := d.Token(); err != nil { // ']'
				return nil, err
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// describe renders a parsed value with everything the validator reads.
func describe(v *value) string {
	var b strings.Builder
	var walk func(v *value)
	walk = func(v *value) {
		switch v.typ {
		case typeObject:
			b.WriteString("{")
			for _, m := range v.members {
				fmt.Fprintf(&b, "%q:", m.name)
				walk(m.val)
				b.WriteString(",")
			}
			b.WriteString("}")
			for _, m := range v.members {
				if v.get(m.name) != m.val {
					fmt.Fprintf(&b, "!index(%q)", m.name)
				}
			}
		case typeArray:
			b.WriteString("[")
			for _, it := range v.items {
				walk(it)
				b.WriteString(",")
			}
			b.WriteString("]")
		case typeString:
			fmt.Fprintf(&b, "%q", v.str)
		default:
			b.WriteString(v.typ.names())
		}
	}
	walk(v)
	return b.String()
}

var parseSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0.5e+10`, `1E3`, `"x"`, ` {"a" : [1, 2 ,{"b":null}] } `,
	`{"apiVersion":"brigade.sh/v2","kind":"Event","projectID":"p","source":"s","type":"t","qualifiers":{"a":"b"},"payload":"{\"k\":1}"}`,
	`{"a":1,"a":"second","b":2}`,
	`{"esc":"\n\t\"\\\/\u00e9\ud83d\ude00","lone":"\ud800x","low":"\udc00","nul":"\u0000"}`,
	"{\"utf8\":\"h\u00e9llo \u2603\",\"bad\":\"\xff\xfe\",\"cut\":\"\xe2\x82\",\"\xc0name\":1}",
	`{"m0":0,"m1":1,"m2":2,"m3":3,"m4":4,"m5":5,"m6":6,"m7":7,"m8":8,"m9":9,"m10":10,"m11":11,"m12":12,"m13":13,"m14":14,"m15":15,"m16":16,"m17":17,"m3":"again"}`,
	`[[[[[[]]]]]]`, "\t\r\n[\"a\"]\n",
}

func checkParseAgrees(t *testing.T, body []byte) {
	t.Helper()
	got, err := parse(body) // must not panic, whatever the input
	if !json.Valid(body) {
		return // Validate refuses it before parsing
	}
	want, werr := refParse(body)
	if werr != nil {
		t.Fatalf("the reference parser refused %q: %v", body, werr)
	}
	if err != nil {
		t.Fatalf("parse(%q): %v", body, err)
	}
	if g, w := describe(got), describe(want); g != w {
		t.Fatalf("parse(%q)\n got %s\nwant %s", body, g, w)
	}
}

func TestParseAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range parseSeeds {
		if !json.Valid([]byte(s)) {
			t.Fatalf("seed %q is not JSON: it would test nothing", s)
		}
		checkParseAgrees(t, []byte(s))
	}
}

func TestParseRefusesWhatIsNotOneDocument(t *testing.T) {
	for _, s := range []string{``, `{`, `{"a"}`, `{"a":}`, `[1,]`, `{"a":1}x`, `"abc`, `tru`, `-`, `1.`, `1e`, `01`, "\"a\x01b\"", `{} {}`} {
		if _, err := parse([]byte(s)); err == nil {
			t.Errorf("parse(%q) accepted it", s)
		}
	}
}

func FuzzInstance(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkParseAgrees(t, body) })
}

func BenchmarkParse(b *testing.B) {
	body := []byte(parseSeeds[10])
	for _, c := range []struct {
		name  string
		parse func([]byte) (*value, error)
	}{{"scanner", parse}, {"encoding-json-tokens", refParse}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
