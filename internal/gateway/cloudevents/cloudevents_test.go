package cloudevents

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/gateway"
)

// fakeAPI answers whoami and event creation with the statuses a test sets,
// and counts the calls.
type fakeAPI struct {
	mu           sync.Mutex
	whoami       int
	create       int
	whoamiCalls  int
	createCalls  int
	lastToken    string
	idempotency  []string
	createReason string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastToken = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	status := f.whoami
	if r.URL.Path == "/v2/events" {
		f.createCalls++
		f.idempotency = append(f.idempotency, r.Header.Get("Idempotency-Key"))
		status = f.create
	} else {
		f.whoamiCalls++
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	switch {
	case status >= 400 && f.createReason != "":
		_, _ = w.Write([]byte(`{"apiVersion":"brigade.sh/v2","kind":"BadRequestError","reason":"` + f.createReason + `"}`))
	case status == http.StatusOK && r.URL.Path == "/v2/whoami":
		_, _ = w.Write([]byte(`{"type":"SERVICE_ACCOUNT","id":"sender"}`))
	case status < 300:
		_, _ = w.Write([]byte(`{"kind":"EventList","items":[{"metadata":{"id":"ev-1"}}]}`))
	}
}

type harness struct {
	api *fakeAPI
	gw  *Gateway
	h   http.Handler
	log *bytes.Buffer
}

func newHarness(t *testing.T, whoami, create int) *harness {
	api := &fakeAPI{whoami: whoami, create: create}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	var log bytes.Buffer
	gw, err := New(Config{MaxBodyBytes: 1024}, gateway.Env{API: client.New(srv.URL, "the-gateways-own-token"),
		Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if err := gateway.Mount(mux, []gateway.Gateway{gw}, true, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatal(err)
	}
	return &harness{api: api, gw: gw, h: mux, log: &log}
}

const oneEvent = `{"specversion":"1.0","id":"1","source":"/s","type":"t"}`

func (h *harness) post(auth, query, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/events"+query, strings.NewReader(body))
	r.Header.Set("Content-Type", mediaStructured)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	return w
}

func TestAPIFailures(t *testing.T) {
	for _, c := range []struct {
		name           string
		whoami, create int
		reason         string
		want           int
		logged         string
	}{
		{"UnknownToken", 401, 201, "", 403, ""},
		{"BuiltInToken", 403, 201, "", 403, ""},
		{"NoEventCreatorRole", 200, 403, "", 403, "may not create"},
		{"TokenRevokedSinceVerified", 200, 401, "", 403, "may not create"},
		{"WhoAmIFails", 500, 201, "", 502, "received 500"},
		{"CreateFails", 200, 500, "", 502, "received 500"},
		{"APIRefusesTheEvent", 200, 400, "payload too odd", 502, "payload too odd"},
		{"APITooLarge", 200, 413, "", 413, ""},
		{"APIBusy", 200, 429, "", 429, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.whoami, c.create)
			h.api.createReason = c.reason
			w := h.post("Bearer sender-token", "", oneEvent)
			if w.Code != c.want {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, c.want)
			}
			if c.want == 403 && w.Body.Len() != 0 {
				t.Fatalf("403 with a body: %s", w.Body)
			}
			if !strings.Contains(h.log.String(), c.logged) {
				t.Fatalf("the log lacks %q:\n%s", c.logged, h.log)
			}
			if strings.Contains(h.log.String(), "sender-token") {
				t.Fatalf("the token was logged:\n%s", h.log)
			}
			if h.api.lastToken != "sender-token" {
				t.Fatalf("the API was called with %q, not the sender's token", h.api.lastToken)
			}
		})
	}
}

func TestAuthBeforeParsing(t *testing.T) {
	h := newHarness(t, 401, 201)
	if w := h.post("", "", "not json"); w.Code != 403 || h.api.whoamiCalls != 0 {
		t.Fatalf("no token: %d, %d API calls", w.Code, h.api.whoamiCalls)
	}
	if w := h.post("Bearer x", "", "not json"); w.Code != 403 || h.api.createCalls != 0 {
		t.Fatalf("unknown token, bad body: %d", w.Code)
	}
	// Beyond the limit, nothing is parsed nor verified.
	calls := h.api.whoamiCalls
	if w := h.post("Bearer x", "", strings.Repeat("x", 1025)); w.Code != 413 || h.api.whoamiCalls != calls {
		t.Fatalf("over the limit: %d, whoami called %d times", w.Code, h.api.whoamiCalls-calls)
	}
}

func TestTokenSources(t *testing.T) {
	h := newHarness(t, 200, 201)
	for _, c := range []struct{ auth, query string }{
		{"Bearer tok-a", ""}, {"bearer tok-a", ""}, {"BEARER   tok-a ", ""}, {"", "?access_token=tok-a"},
		{"Basic Zm9vOmJhcg==", "?access_token=tok-a"},
	} {
		if w := h.post(c.auth, c.query, oneEvent); w.Code != 200 || h.api.lastToken != "tok-a" {
			t.Errorf("%q %q: %d, token %q", c.auth, c.query, w.Code, h.api.lastToken)
		}
	}
	for _, auth := range []string{"Basic Zm9vOmJhcg==", "Bearer ", "tok-a"} {
		if w := h.post(auth, "", oneEvent); w.Code != 403 {
			t.Errorf("%q: %d", auth, w.Code)
		}
	}
}

func TestVerifiedTokensAreRemembered(t *testing.T) {
	h := newHarness(t, 200, 201)
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	h.gw.tokens.now = func() time.Time { return now }
	for range 3 {
		h.post("Bearer tok-a", "", oneEvent)
	}
	if h.api.whoamiCalls != 1 || h.api.createCalls != 3 {
		t.Fatalf("whoami %d times, create %d times", h.api.whoamiCalls, h.api.createCalls)
	}
	h.post("Bearer tok-b", "", oneEvent)
	now = now.Add(verifiedFor)
	h.post("Bearer tok-a", "", oneEvent)
	if h.api.whoamiCalls != 3 {
		t.Fatalf("whoami %d times; want once more for tok-b and once after tok-a's time ran out", h.api.whoamiCalls)
	}
	for i := range maxVerified + 10 {
		h.gw.tokens.good[[32]byte{byte(i), byte(i >> 8), 1}] = now.Add(time.Hour)
		if len(h.gw.tokens.good) > maxVerified {
			h.post("Bearer tok-c", "", oneEvent) // makes room
		}
	}
	if n := len(h.gw.tokens.good); n > maxVerified {
		t.Fatalf("%d tokens remembered", n)
	}
}

func TestDeliveryKey(t *testing.T) {
	if a, b := deliveryKey("a:b", "c"), deliveryKey("a", "b:c"); a == b {
		t.Fatalf("two pairs share the key %q", a)
	}
	if k := deliveryKey("/s", "1"); k != "ce:2:/s:1" {
		t.Fatalf("key %q", k)
	}
	long := deliveryKey(strings.Repeat("s", 200), strings.Repeat("i", 60))
	if len(long) > 255 || !strings.HasPrefix(long, "ce-sha256:") || long == deliveryKey(strings.Repeat("s", 200), strings.Repeat("i", 61)) {
		t.Fatalf("long key %q", long)
	}
	if k := deliveryKey("/s", "a\nb"); !strings.HasPrefix(k, "ce-sha256:") {
		t.Fatalf("a key with a control character: %q", k)
	}
}

func TestBatchKeysEachElement(t *testing.T) {
	h := newHarness(t, 200, 201)
	r := httptest.NewRequest("POST", "/events", strings.NewReader("["+oneEvent+","+strings.Replace(oneEvent, `"id":"1"`, `"id":"2"`, 1)+"]"))
	r.Header.Set("Content-Type", mediaBatch)
	r.Header.Set("Authorization", "Bearer tok")
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	if w.Code != 200 || strings.Join(h.api.idempotency, " ") != "ce:2:/s:1 ce:2:/s:2" {
		t.Fatalf("%d %s, keys %q", w.Code, w.Body, h.api.idempotency)
	}
}

func TestQualifierProblem(t *testing.T) {
	for s, ok := range map[string]bool{
		"example.com/app": true, "urn:a:b?x=1": true, "*_-.": true,
		"a b": false, "https://x/#f": false, "mailto:a@b": false, "x&y": false, "é": false,
		strings.Repeat("a", 255): true, strings.Repeat("a", 256): false,
	} {
		if got := qualifierProblem(s) == ""; got != ok {
			t.Errorf("%q: %v (%s)", s, got, qualifierProblem(s))
		}
	}
}

func TestHandshake(t *testing.T) {
	h := newHarness(t, 500, 500)
	for _, c := range []struct {
		origin, rate, callback string
		status                 int
		allowedRate            string
	}{
		{"sender.example.com", "", "", 200, "*"},
		{"sender.example.com", "60", "", 200, "60"},
		{"sender.example.com", "", "http://127.0.0.1:1/never", 200, "*"},
		{"sender.example.com", "0", "", 400, ""},
		{"sender.example.com", "-5", "", 400, ""},
		{"bad origin", "", "", 400, ""},
		{"", "", "", 200, ""},
	} {
		r := httptest.NewRequest("OPTIONS", "/events", nil)
		for k, v := range map[string]string{"WebHook-Request-Origin": c.origin, "WebHook-Request-Rate": c.rate,
			"WebHook-Request-Callback": c.callback} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		w := httptest.NewRecorder()
		h.h.ServeHTTP(w, r)
		wantOrigin := c.origin
		if c.status != 200 {
			wantOrigin = ""
		}
		if w.Code != c.status || w.Header().Get("WebHook-Allowed-Rate") != c.allowedRate ||
			w.Header().Get("WebHook-Allowed-Origin") != wantOrigin || w.Header().Get("Allow") != "OPTIONS, POST" {
			t.Errorf("%+v: %d %v", c, w.Code, w.Header())
		}
	}
	if h.api.whoamiCalls+h.api.createCalls != 0 {
		t.Fatal("the handshake called the API")
	}
}

func TestNewRefusesANegativeLimit(t *testing.T) {
	if _, err := New(Config{MaxBodyBytes: -1}, gateway.Env{}); err == nil {
		t.Fatal("no error")
	}
	g, err := New(Config{}, gateway.Env{})
	if err != nil || g.limit != DefaultMaxBodyBytes {
		t.Fatalf("zero: %v, %d", err, g.limit)
	}
}

func TestAPIUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	var log bytes.Buffer
	gw, err := New(Config{}, gateway.Env{API: client.New(addr, ""), Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/events", strings.NewReader(oneEvent))
	r.Header.Set("Content-Type", mediaStructured)
	r.Header.Set("Authorization", "Bearer tok")
	w := httptest.NewRecorder()
	gw.receive(w, r)
	if w.Code != http.StatusBadGateway || !strings.Contains(log.String(), "creating a cloudevent failed") {
		t.Fatalf("%d %s\n%s", w.Code, w.Body, log.String())
	}
}

func TestBatchWithAnUnroutableElementCreatesNothing(t *testing.T) {
	h := newHarness(t, 200, 201)
	r := httptest.NewRequest("POST", "/events", strings.NewReader("["+oneEvent+","+strings.Replace(oneEvent, `"/s"`, `"/s#frag"`, 1)+"]"))
	r.Header.Set("Content-Type", mediaBatch)
	r.Header.Set("Authorization", "Bearer tok")
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "batch element 1: ") || h.api.createCalls != 0 {
		t.Fatalf("%d %s, %d creations", w.Code, w.Body, h.api.createCalls)
	}
}
