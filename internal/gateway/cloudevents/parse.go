package cloudevents

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// event is one CloudEvent as the JSON event format holds it: each context
// attribute, and data or data_base64, under its name.
type event map[string]json.RawMessage

// str is a string attribute of e ("" when absent or not a string).
func (e event) str(name string) string {
	var s string
	if raw, ok := e[name]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// structured is e in the JSON event format, as it is given to scripts.
func (e event) structured() string {
	b, err := json.Marshal(map[string]json.RawMessage(e))
	if err != nil { // every value was checked to be JSON when e was made
		panic(fmt.Sprintf("encoding a checked CloudEvent: %v", err))
	}
	return string(b)
}

// problem is why a request is refused, with the status it is answered.
type problem struct {
	status int
	reason string
}

func (p *problem) Error() string { return p.reason }

func badRequest(format string, args ...any) *problem {
	return &problem{status: http.StatusBadRequest, reason: fmt.Sprintf(format, args...)}
}

// The content modes of the CloudEvents HTTP binding.
const (
	mediaStructured = "application/cloudevents+json"
	mediaBatch      = "application/cloudevents-batch+json"
)

// parse reads the CloudEvents of a request whose body is body: one in
// binary or structured mode, any number in batch mode. A request that
// carries no CloudEvent is a 415 problem; a malformed one a 400.
func parse(h http.Header, body []byte) ([]event, error) {
	media := mediaType(h.Get("Content-Type"))
	switch {
	case media == mediaStructured:
		e, err := structuredEvent(body, "")
		if err != nil {
			return nil, err
		}
		return []event{e}, nil
	case media == mediaBatch:
		return batch(body)
	case strings.HasPrefix(media, "application/cloudevents"):
		return nil, &problem{status: http.StatusUnsupportedMediaType, reason: fmt.Sprintf(
			"the event format %q is not supported: send JSON (%s or %s), or use binary mode", media, mediaStructured, mediaBatch)}
	case h.Get("Ce-Specversion") != "":
		e, err := binary(h, body)
		if err != nil {
			return nil, err
		}
		return []event{e}, nil
	}
	return nil, &problem{status: http.StatusUnsupportedMediaType, reason: "the request is not a CloudEvent: " +
		"send one in binary mode (ce-specversion, ce-id, ce-source and ce-type headers) or in structured mode " +
		"(Content-Type " + mediaStructured + "), or a batch (Content-Type " + mediaBatch + ")"}
}

// mediaType is a Content-Type without its parameters, in lower case.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// structuredEvent decodes and checks one event in the JSON format; at
// names its place in a batch ("" for a single event).
func structuredEvent(raw []byte, at string) (event, error) {
	var e event
	if err := json.Unmarshal(raw, &e); err != nil || e == nil {
		return nil, badRequest("%sthe body is not a CloudEvent in JSON: a JSON object is expected", at)
	}
	if err := check(e, at); err != nil {
		return nil, err
	}
	return e, nil
}

// maxBatch bounds the events of one batch, whose creation one after
// another must end well within the time the sender waits for the reply.
const maxBatch = 1000

// batch decodes a batch: a JSON array of events in the JSON format, all of
// one specversion. Each element is checked before any is created.
func batch(body []byte) ([]event, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, badRequest("a batch of CloudEvents is a JSON array of events in JSON")
	}
	if len(items) > maxBatch {
		return nil, &problem{status: http.StatusRequestEntityTooLarge, reason: fmt.Sprintf(
			"the batch holds %d events; a batch may hold at most %d: send it in parts", len(items), maxBatch)}
	}
	events := make([]event, 0, len(items))
	for i, raw := range items {
		e, err := structuredEvent(raw, fmt.Sprintf("batch element %d: ", i))
		if err != nil {
			return nil, err
		}
		if len(events) > 0 && events[0].str("specversion") != e.str("specversion") {
			return nil, badRequest("batch element %d: specversion %q differs from the first element's %q; "+
				"every event of a batch has the same specversion", i, e.str("specversion"), events[0].str("specversion"))
		}
		events = append(events, e)
	}
	return events, nil
}

// binary reads an event in binary mode: its attributes from the ce-
// headers (percent-decoded once), datacontenttype from Content-Type, and
// its data from the body.
func binary(h http.Header, body []byte) (event, error) {
	e := event{}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names) // the first problem reported does not depend on map order
	for _, k := range names {
		if len(k) < 4 || !strings.EqualFold(k[:3], "ce-") {
			continue
		}
		name := strings.ToLower(k[3:])
		if name == "datacontenttype" {
			continue // Content-Type carries it in binary mode
		}
		if name == "data" || name == "data_base64" {
			return nil, badRequest("header %s: in binary mode the data is the body, not a header", k)
		}
		v, err := url.PathUnescape(h.Get(k))
		if err != nil || !utf8.ValidString(v) {
			return nil, badRequest("header %s: %q is not a valid percent-encoded UTF-8 value", k, h.Get(k))
		}
		e[name] = jsonString(v)
	}
	ct := strings.TrimSpace(h.Get("Content-Type"))
	if ct != "" {
		e["datacontenttype"] = jsonString(ct)
	}
	if err := binaryData(e, ct, body); err != nil {
		return nil, err
	}
	if err := check(e, ""); err != nil {
		return nil, err
	}
	return e, nil
}

// binaryData sets e's data from a binary-mode body: JSON as JSON, text as
// a string, anything else base64-encoded (data_base64 in 1.0, data with
// datacontentencoding base64 in 0.3).
func binaryData(e event, contentType string, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	media := mediaType(contentType)
	switch {
	case isJSON(media) || media == "":
		if json.Valid(body) {
			e["data"] = json.RawMessage(body)
			return nil
		}
		if media != "" {
			return badRequest("the body is not valid JSON, although Content-Type is %q", contentType)
		}
	case isText(contentType):
	default:
		setBase64(e, body)
		return nil
	}
	if !utf8.Valid(body) {
		setBase64(e, body)
		return nil
	}
	e["data"] = jsonString(string(body))
	return nil
}

func setBase64(e event, body []byte) {
	enc := jsonString(base64.StdEncoding.EncodeToString(body))
	if e.str("specversion") == "0.3" {
		e["data"] = enc
		e["datacontentencoding"] = jsonString("base64")
		return
	}
	e["data_base64"] = enc
}

func isJSON(media string) bool {
	return media == "application/json" || media == "text/json" || strings.HasSuffix(media, "+json")
}

func isText(contentType string) bool {
	media := mediaType(contentType)
	return strings.HasPrefix(media, "text/") || media == "application/xml" || strings.HasSuffix(media, "+xml") ||
		strings.Contains(strings.ToLower(contentType), "charset=")
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}

// check applies the CloudEvents rules that make e an event: the required
// attributes, a known specversion, attribute names and types.
func check(e event, at string) error {
	for name, raw := range e {
		if string(raw) == "null" { // a null attribute is an absent one
			delete(e, name)
		}
	}
	spec, ok := e["specversion"]
	if !ok {
		return badRequest("%sthe CloudEvent has no specversion: send specversion \"1.0\"", at)
	}
	if v := e.str("specversion"); v != "1.0" && v != "0.3" {
		return badRequest("%sspecversion %s is not supported: send the string \"1.0\" (or \"0.3\")", at, spec)
	}
	for _, name := range []string{"id", "source", "type"} {
		if _, ok := e[name]; !ok {
			return badRequest("%sthe CloudEvent has no %s: id, source, type and specversion are required", at, name)
		}
		if e.str(name) == "" {
			return badRequest("%sthe CloudEvent's %s must be a non-empty string", at, name)
		}
	}
	if _, ok := e["data_base64"]; ok {
		if _, both := e["data"]; both {
			return badRequest("%sthe CloudEvent has both data and data_base64: send one of them", at)
		}
		if _, err := base64.StdEncoding.DecodeString(e.str("data_base64")); err != nil {
			return badRequest("%sdata_base64 is not a base64 string", at)
		}
	}
	for name, raw := range e {
		if name == "data" || name == "data_base64" {
			continue
		}
		if !attributeName(name) {
			return badRequest("%sattribute name %q is not valid: CloudEvents attribute names are lower-case letters and digits", at, name)
		}
		if c := raw[0]; c == '{' || c == '[' {
			return badRequest("%sattribute %s must be a string, number or boolean", at, name)
		}
	}
	if t, ok := e["time"]; ok {
		if _, err := time.Parse(time.RFC3339Nano, e.str("time")); err != nil {
			return badRequest("%sattribute time %s is not an RFC 3339 timestamp", at, t)
		}
	}
	return nil
}

func attributeName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
