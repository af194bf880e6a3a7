package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestMalformedRequests sends every endpoint that takes a body (the rows of
// the authorization matrix, as a caller allowed to use it) malformed
// variants of its valid body, and every listing absurd query values: each
// answer is a 4xx with Brigade's JSON error body, none is a 5xx, the
// server logs no error, and nothing changes.
func TestMalformedRequests(t *testing.T) {
	w := newWorld(t)
	ts := w.ts
	sent := 0
	refused := func(label string, r reply) {
		t.Helper()
		sent++
		if r.Status < 400 || r.Status > 499 {
			t.Errorf("%.120s: got %d, want a 4xx: %.300s", label, r.Status, r.Body)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil || m["kind"] == nil || m["apiVersion"] != core.APIVersion {
			t.Errorf("%.120s: %d without Brigade's error body: %.300s", label, r.Status, r.Body)
		}
	}
	for _, c := range matrix() {
		if c.open || c.want != nil {
			continue // no authentication (the gateways' own parsers are fuzzed) or logging out
		}
		method, path, body := c.req(w)
		if body == nil || (method != "POST" && method != "PUT") {
			continue
		}
		token := w.tokens[c.allow[0]]
		before := w.state()
		for i, v := range bodyVariants(t, body) {
			label := fmt.Sprintf("%s (%s %s) with %s", c.name, method, path, v.name)
			refused(label, ts.send(method, path, token, v.body, i%2 == 1))
		}
		if after := w.state(); after != before {
			t.Errorf("%s: malformed bodies changed state:\nbefore %s\nafter  %s", c.name, before, after)
		}
	}

	before := w.state()
	lists := []string{"/v2/projects", "/v2/events", "/v2/service-accounts", "/v2/users", "/v2/role-assignments",
		"/v2/project-role-assignments", "/v2/projects/alpha/secrets", "/v2/projects/alpha/role-assignments", "/v2/audit"}
	queries := []string{"limit=0", "limit=-1", "limit=101", "limit=abc", "limit=1.5", "limit=99999999999999999999999",
		"limit=%FF", "limit=%00", "limit=" + strings.Repeat("9", 4096),
		"continue=%FF", "continue=%00", "continue=" + strings.Repeat("z", 8192), "limit=%zz", "continue=%", "limit=5&continue=%0A"}
	for _, l := range lists {
		for _, q := range queries {
			refused("GET "+l+"?"+q, ts.do("GET", l+"?"+q, ts.root, nil))
		}
	}
	selectors := []string{"workerPhases=NOPE", "qualifiers=novalue", "labels=a", "projectID=%FF", "projectID=%00",
		"sourceState=x", "workerPhases=" + strings.Repeat("RUNNING,", 2000)}
	for _, q := range selectors {
		refused("GET /v2/events?"+q, ts.do("GET", "/v2/events?"+q, ts.root, nil))
		refused("DELETE /v2/events?"+q, ts.do("DELETE", "/v2/events?"+q, ts.root, nil))
		refused("POST /v2/events/cancellations?"+q, ts.do("POST", "/v2/events/cancellations?"+q, ts.root, nil))
	}
	for _, id := range []string{"%FF", "%00", "a%00b", "%7F", strings.Repeat("a", 4096), "%2E%2E", "a%2Fb"} {
		for _, p := range []string{"/v2/projects/" + id, "/v2/events/" + id, "/v2/service-accounts/" + id, "/v2/users/" + id,
			"/v2/events/" + id + "/logs"} {
			refused("GET "+p, ts.do("GET", p, ts.root, nil))
			refused("DELETE "+p, ts.do("DELETE", p, ts.root, nil))
		}
		// Unsetting a secret that is not there succeeds (as in Brigade),
		// but not with a key that is not text.
		if slices.Contains([]string{"%FF", "%00", "a%00b", "%7F"}, id) {
			refused("DELETE secret "+id, ts.do("DELETE", "/v2/projects/alpha/secrets/"+id, ts.root, nil))
		}
	}
	if after := w.state(); after != before {
		t.Errorf("malformed queries changed state:\nbefore %s\nafter  %s", before, after)
	}
	if logs := ts.errLogs.String(); logs != "" {
		t.Errorf("malformed requests logged errors:\n%s", logs)
	}
	t.Logf("%d malformed requests refused", sent)
}

// state is what the world's listings show, as root sees it.
func (w *world) state() string {
	var b strings.Builder
	for _, l := range []string{"/v2/projects?limit=100", "/v2/events?limit=100", "/v2/service-accounts?limit=100",
		"/v2/users?limit=100", "/v2/role-assignments?limit=100", "/v2/project-role-assignments?limit=100",
		"/v2/projects/alpha/secrets?limit=100", "/v2/events/" + w.workerEvent + "/worker/status"} {
		b.Write(w.ts.expect(http.StatusOK, "GET", l, w.ts.root, nil).Body)
		b.WriteByte('\n')
	}
	return b.String()
}

// send is do with a raw body, sent chunked (no Content-Length) if asked.
func (ts *testServer) send(method, path, token string, body []byte, chunked bool) reply {
	ts.t.Helper()
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = struct{ io.Reader }{rd} // hides the length: net/http sends it chunked
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

type variant struct {
	name string
	body []byte
}

// marker stands for a value a variant replaces in the encoded body.
const marker = `"\u0001MARK\u0001"`

// bodyVariants returns malformed versions of the valid body: each leaf in
// turn with a wrong type, a number too large for any field, invalid UTF-8,
// a raw NUL byte and deep nesting; and the whole body truncated, not an
// object, not JSON, over the size limit, with an unknown field.
func bodyVariants(t *testing.T, valid any) []variant {
	enc, err := json.Marshal(valid)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(enc, &doc); err != nil {
		t.Fatal(err)
	}
	nest := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	halfNest := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	var out []variant
	for _, leaf := range leaves(doc, "") {
		wrong := `12345`
		if _, isString := leaf.value.(string); !isString {
			wrong = `"wrong"`
		}
		for name, raw := range map[string]string{
			"wrong type": wrong, "huge number": `1e99999`, "invalid UTF-8": "\"caf\xe9\xff\"",
			"raw NUL": "\"a\x00b\"", "deep nesting": nest, "nesting": halfNest,
		} {
			out = append(out, variant{leaf.path + ": " + name, replaceLeaf(t, doc, leaf.path, raw)})
		}
	}
	withExtra := bytes.Replace(enc, []byte("{"), []byte(`{"zzzUnknown":1,`), 1)
	for i, raw := range [][]byte{
		enc[:len(enc)/2], enc[:len(enc)-1], []byte(""), []byte(" "), []byte("null"), []byte("[]"), []byte(`"x"`),
		[]byte("42"), []byte("{"), append(slices.Clip(enc), enc...), append(slices.Clip(enc), "garbage"...),
		[]byte("\x00" + string(enc)), []byte("\xef\xbb\xbf" + string(enc)), withExtra,
		bytes.Replace(enc, []byte(`"brigade.sh/v2"`), []byte(`"brigade.sh/v1"`), 1),
		[]byte(`{"apiVersion":"brigade.sh/v2","kind":"` + strings.Repeat("K", 70<<10) + `"}`),
	} {
		out = append(out, variant{fmt.Sprintf("whole body #%d", i), raw})
	}
	return out
}

type leaf struct {
	path  string
	value any
}

// leaves lists the scalar values of doc with their paths ("spec.a.0").
func leaves(doc any, at string) []leaf {
	join := func(k string) string {
		if at == "" {
			return k
		}
		return at + "." + k
	}
	var out []leaf
	switch v := doc.(type) {
	case map[string]any:
		for k, x := range v {
			out = append(out, leaves(x, join(k))...)
		}
	case []any:
		for i, x := range v {
			out = append(out, leaves(x, join(fmt.Sprint(i)))...)
		}
	default:
		out = append(out, leaf{at, v})
	}
	slices.SortFunc(out, func(a, b leaf) int { return strings.Compare(a.path, b.path) })
	return out
}

// replaceLeaf encodes doc with the leaf at path replaced by raw JSON text
// (which need not be valid).
func replaceLeaf(t *testing.T, doc any, path, raw string) []byte {
	var put func(x any, parts []string) any
	put = func(x any, parts []string) any {
		if len(parts) == 0 {
			return json.RawMessage(marker)
		}
		switch v := x.(type) {
		case map[string]any:
			c := make(map[string]any, len(v))
			for k, y := range v {
				c[k] = y
			}
			c[parts[0]] = put(v[parts[0]], parts[1:])
			return c
		case []any:
			c := slices.Clone(v)
			var i int
			fmt.Sscan(parts[0], &i)
			c[i] = put(v[i], parts[1:])
			return c
		}
		return x
	}
	enc, err := json.Marshal(put(doc, strings.Split(path, ".")))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(enc, []byte(marker), []byte(raw), 1)
}

// TestTruncatedBody: a body that ends before its Content-Length says (the
// client hung up mid-upload) is a 400 with Brigade's error body, and
// nothing is created.
func TestTruncatedBody(t *testing.T) {
	ts := newTestServer(t)
	before := ts.state()
	body, _ := json.Marshal(projectBody("truncated"))
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	fmt.Fprintf(conn, "POST /v2/projects HTTP/1.1\r\nHost: brigade\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		ts.root, len(body), body[:len(body)/2])
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &m) != nil || m["kind"] != "BadRequestError" {
		t.Fatalf("got %d %s, want a 400 BadRequestError", resp.StatusCode, b)
	}
	if after := ts.state(); after != before {
		t.Fatalf("a truncated body changed state:\nbefore %s\nafter  %s", before, after)
	}
}
