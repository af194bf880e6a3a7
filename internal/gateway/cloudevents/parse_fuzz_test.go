package cloudevents

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzParse feeds arbitrary bodies, in each of the three modes, to the
// CloudEvents parser: it returns events that pass its own checks or a
// problem (a 4xx with a reason), never a panic or another error.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}`), uint8(0), "")
	f.Add([]byte(`[{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"aGk="}]`), uint8(1), "")
	f.Add([]byte(`hello`), uint8(2), "text/plain")
	f.Add([]byte(`{"a":`), uint8(2), "application/json")
	f.Add([]byte("\xff\xfe"), uint8(0), "")
	f.Add([]byte(`{"specversion":"1.0","id":"","source":"","type":"","Bad-Name":1}`), uint8(0), "")
	f.Fuzz(func(t *testing.T, body []byte, mode uint8, contentType string) {
		h := http.Header{}
		switch mode % 3 {
		case 0:
			h.Set("Content-Type", mediaStructured)
		case 1:
			h.Set("Content-Type", mediaBatch)
		default:
			h.Set("Ce-Specversion", "1.0")
			h.Set("Ce-Id", "1")
			h.Set("Ce-Source", "/s")
			h.Set("Ce-Type", "t")
			h.Set("Content-Type", contentType)
		}
		events, err := parse(h, body)
		var p *problem
		if err != nil && !errors.As(err, &p) {
			t.Fatalf("an error that is not a problem: %T %v", err, err)
		}
		if err == nil {
			for _, e := range events {
				if cerr := check(e, ""); cerr != nil {
					t.Fatalf("parse returned an event its check refuses: %v", cerr)
				}
			}
		}
	})
}
