package server_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
	"github.com/brigadeplatform/brigade/internal/gateway/gateways"
	"github.com/brigadeplatform/brigade/internal/gateway/github"
	"github.com/brigadeplatform/brigade/internal/server"
)

// The GitHub App and webhook the tests sign deliveries for (the secrets
// are those of the published signature vectors).
const (
	ghAppID         = 42
	ghAppSecret     = "It's a Secret to Everybody"
	ghWebhookSecret = "s3cr3t"
)

// ghFake is a local fake of the GitHub API: it records every call and
// answers those the gateway makes.
type ghFake struct {
	srv *httptest.Server
	mu  sync.Mutex
	// calls are "METHOD path" in order; runs are the bodies sent per
	// check run ID, in order.
	calls   []string
	runs    map[string][]map[string]any
	nextRun int
	changed chan struct{}
}

func newGHFake(t *testing.T) *ghFake {
	f := &ghFake{runs: map[string][]map[string]any{}, nextRun: 1000, changed: make(chan struct{}, 1)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *ghFake) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	defer func() {
		f.mu.Unlock()
		select {
		case f.changed <- struct{}{}:
		default:
		}
	}()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(r.URL.Path, "/repos/octo/gone/"):
		reply(404, map[string]string{"message": "Not Found"})
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/app/installations/"):
		if !strings.HasPrefix(auth, "Bearer ey") {
			reply(401, map[string]string{"message": "A JSON web token could not be decoded"})
			return
		}
		reply(201, map[string]string{"token": "ghs_installation", "expires_at": "2099-01-01T00:00:00Z"})
	case auth != "Bearer ghs_installation":
		reply(401, map[string]string{"message": "Bad credentials"})
	case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/check-runs"):
		var found []map[string]any
		for id, bodies := range f.runs {
			if bodies[0]["name"] == r.URL.Query().Get("check_name") && strings.Contains(r.URL.Path, "/"+bodies[0]["head_sha"].(string)+"/") {
				found = append(found, map[string]any{"id": json.Number(id)})
			}
		}
		reply(200, map[string]any{"total_count": len(found), "check_runs": found})
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/check-runs"):
		f.nextRun++
		id := fmt.Sprint(f.nextRun)
		f.runs[id] = append(f.runs[id], body)
		reply(201, map[string]any{"id": f.nextRun})
	case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/pulls/12"):
		reply(200, map[string]any{"number": 12, "head": map[string]any{"sha": "abcdef0123456789abcdef0123456789abcdef01"}})
	case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/check-suites"):
		if r.URL.Query().Get("app_id") != fmt.Sprint(ghAppID) {
			reply(422, map[string]string{"message": "no app_id"})
			return
		}
		var suites []map[string]any
		if strings.Contains(r.URL.Path, "/commits/abcdef0123456789abcdef0123456789abcdef01/") {
			suites = append(suites, map[string]any{"id": 555})
		}
		reply(200, map[string]any{"total_count": len(suites), "check_suites": suites})
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/check-suites"):
		reply(201, map[string]any{"id": 777})
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/rerequest"):
		reply(201, map[string]any{})
	case r.Method == "PATCH" && strings.Contains(r.URL.Path, "/check-runs/"):
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if f.runs[id] == nil {
			reply(404, map[string]string{"message": "Not Found"})
			return
		}
		f.runs[id] = append(f.runs[id], body)
		reply(200, map[string]any{"id": id})
	default:
		reply(404, map[string]string{"message": "Not Found"})
	}
}

// ghKey is the App's private key, made once: making one is slow under
// the race detector.
var ghKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// ghAppsFile writes an apps file for App ghAppID.
func ghAppsFile(t *testing.T) string {
	t.Helper()
	key, err := ghKey()
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	b, _ := json.Marshal([]map[string]any{{"appID": ghAppID, "sharedSecret": ghAppSecret, "apiKey": string(pemKey)}})
	p := filepath.Join(t.TempDir(), "apps.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func ghSign256(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func ghSign1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// ghDelivery is one webhook delivery to send.
type ghDelivery struct {
	event    string
	body     string
	app      bool   // from App ghAppID (else a repository webhook)
	hook     string // X-GitHub-Hook-ID (default "7")
	guid     string // X-GitHub-Delivery (default: a fresh one)
	header   map[string]string
	noSign   bool
	sign     func(body []byte) (header, value string) // default: sha256 with the right secret
	bodySent string                                   // sent instead of body, signature still of body
}

var ghGUIDs struct {
	sync.Mutex
	n int
}

func ghGUID() string {
	ghGUIDs.Lock()
	defer ghGUIDs.Unlock()
	ghGUIDs.n++
	return fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", ghGUIDs.n)
}

// ghPost sends d to url and returns the reply.
func ghPost(t *testing.T, url string, d ghDelivery) reply {
	t.Helper()
	body := []byte(d.body)
	sent := body
	if d.bodySent != "" {
		sent = []byte(d.bodySent)
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader(string(sent)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", d.event)
	if d.guid == "" {
		d.guid = ghGUID()
	}
	req.Header.Set("X-GitHub-Delivery", d.guid)
	if d.hook == "" {
		d.hook = "7"
	}
	req.Header.Set("X-GitHub-Hook-ID", d.hook)
	secret := ghWebhookSecret
	if d.app {
		secret = ghAppSecret
		req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
		req.Header.Set("X-GitHub-Hook-Installation-Target-ID", fmt.Sprint(ghAppID))
	} else {
		req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
		req.Header.Set("X-GitHub-Hook-Installation-Target-ID", "1296269")
	}
	if !d.noSign {
		if d.sign != nil {
			h, v := d.sign(body)
			req.Header.Set(h, v)
		} else {
			req.Header.Set("X-Hub-Signature-256", ghSign256(secret, body))
		}
	}
	for k, v := range d.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// ghIDs checks a 200 {"eventIDs":[...]} reply and returns the IDs.
func ghIDs(t *testing.T, r reply) []string {
	t.Helper()
	var out struct {
		EventIDs []string `json:"eventIDs"`
	}
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q: %s; want 200 with JSON", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	r.into(t, &out)
	if out.EventIDs == nil {
		t.Fatalf("no eventIDs list: %s", r.Body)
	}
	return out.EventIDs
}

// ghRefused checks a 403 with an empty body.
func ghRefused(t *testing.T, r reply) {
	t.Helper()
	if r.Status != http.StatusForbidden || len(r.Body) != 0 {
		t.Fatalf("got %d %q, want 403 with an empty body", r.Status, r.Body)
	}
}

// ghEventCount is how many GitHub events exist.
func ghEventCount(t *testing.T, ts *testServer) int {
	t.Helper()
	var list struct{ Items []core.Event }
	ts.expect(200, "GET", "/v2/events?source=brigade.sh/github", ts.root, nil).into(t, &list)
	return len(list.Items)
}

func ghRepo(name string) map[string]string { return map[string]string{"repo": name} }

const ghPush = `{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000",` +
	`"after":"6dcb09b5b57875f334f61aebed695e2e4193db5e","deleted":false,` +
	`"head_commit":{"id":"6dcb09b5b57875f334f61aebed695e2e4193db5e"},` +
	`"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}}`

func TestGitHubGateway(t *testing.T) {
	fake := newGHFake(t)
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) {
		c.Gateways.GitHub = github.Config{WebhookSecret: ghWebhookSecret, AppsFile: ghAppsFile(t), APIURL: fake.srv.URL}
	})
	url := ts.url + "/gateways/github"
	ts.createProject("hello", core.EventSubscription{Source: github.Source, Types: []string{"*"}, Qualifiers: ghRepo("octo/hello")})

	t.Run("SignatureVectors", func(t *testing.T) {
		body := `{"zen":"Keep it simple.","hook_id":1}`
		r := ghPost(t, url, ghDelivery{event: "ping", body: body, sign: func([]byte) (string, string) {
			return "X-Hub-Signature-256", "sha256=0be5370de5ae5f5b6983c569d3cff974fb20c975c93202c7923778255a174ba4"
		}})
		if ids := ghIDs(t, r); len(ids) != 0 {
			t.Fatalf("ping made events: %v", ids)
		}
		r = ghPost(t, url, ghDelivery{event: "ping", body: "Hello, World!", app: true, sign: func([]byte) (string, string) {
			return "X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
		}})
		if ids := ghIDs(t, r); len(ids) != 0 {
			t.Fatalf("ping made events: %v", ids)
		}
	})

	t.Run("BadSignaturesAreRefusedBeforeAnything", func(t *testing.T) {
		before := ghEventCount(t, ts)
		changed := ghPush[:len(ghPush)-1] + " }"
		for name, d := range map[string]ghDelivery{
			"Wrong": {sign: func(b []byte) (string, string) { return "X-Hub-Signature-256", ghSign256("other", b) }},
			"AppSecretForWebhook": {sign: func(b []byte) (string, string) {
				return "X-Hub-Signature-256", ghSign256(ghAppSecret, b)
			}},
			"Missing":       {noSign: true},
			"MalformedHex":  {sign: func([]byte) (string, string) { return "X-Hub-Signature-256", "sha256=zz" + strings.Repeat("0", 62) }},
			"NoPrefix":      {sign: func(b []byte) (string, string) { return "X-Hub-Signature-256", ghSign256(ghWebhookSecret, b)[7:] }},
			"BodyChanged":   {bodySent: changed},
			"SHA1Only":      {sign: func(b []byte) (string, string) { return "X-Hub-Signature", ghSign1(ghWebhookSecret, b) }},
			"UnknownApp":    {app: true, header: map[string]string{"X-GitHub-Hook-Installation-Target-ID": "43"}},
			"NonNumericApp": {app: true, header: map[string]string{"X-GitHub-Hook-Installation-Target-ID": "x42"}},
			"WebhookSecretAsApp": {app: true, sign: func(b []byte) (string, string) {
				return "X-Hub-Signature-256", ghSign256(ghWebhookSecret, b)
			}},
		} {
			t.Run(name, func(t *testing.T) {
				d.event, d.body = "push", ghPush
				ghRefused(t, ghPost(t, url, d))
			})
		}
		t.Run("BadSignatureAndBadJSON", func(t *testing.T) {
			ghRefused(t, ghPost(t, url, ghDelivery{event: "push", body: "{not json", sign: func(b []byte) (string, string) {
				return "X-Hub-Signature-256", ghSign256("other", b)
			}}))
		})
		if n := ghEventCount(t, ts); n != before {
			t.Fatalf("refused deliveries made events: %d, then %d", before, n)
		}
	})

	t.Run("SignedBadJSONIs400", func(t *testing.T) {
		r := ghPost(t, url, ghDelivery{event: "push", body: "{not json"})
		if r.Status != 400 || !strings.Contains(string(r.Body), "BadRequestError") {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
		r = ghPost(t, url, ghDelivery{event: "push", body: `["an array"]`})
		if r.Status != 400 {
			t.Fatalf("an array: got %d %s", r.Status, r.Body)
		}
	})

	t.Run("IgnoredEvents", func(t *testing.T) {
		for _, ev := range []string{"ping", "no_such_event", "star", "deployment", "github_app_authorization"} {
			body := `{"action":"created","zen":"x","repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}}`
			if ids := ghIDs(t, ghPost(t, url, ghDelivery{event: ev, body: body})); len(ids) != 0 {
				t.Fatalf("%s made events %v", ev, ids)
			}
		}
	})

	t.Run("PullRequestOpened", func(t *testing.T) {
		title := strings.Repeat("A long title ", 12)
		body := `{"action":"opened","number":12,"pull_request":{"number":12,"title":"` + title + `",` +
			`"head":{"sha":"abcdef0123456789abcdef0123456789abcdef01","repo":{"fork":false,"full_name":"octo/hello"}}},` +
			`"installation":{"id":99},"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}}`
		ids := ghIDs(t, ghPost(t, url, ghDelivery{event: "pull_request", body: body, app: true}))
		if len(ids) != 1 {
			t.Fatalf("ids %v", ids)
		}
		ev := ts.getEvent(ids[0])
		if ev.Type != "pull_request:opened" || ev.Source != "brigade.sh/github" || ev.Qualifiers["repo"] != "octo/hello" ||
			ev.Labels["appID"] != "42" || ev.Git == nil || ev.Git.Ref != "refs/pull/12/head" ||
			ev.Git.Commit != "abcdef0123456789abcdef0123456789abcdef01" || ev.ShortTitle != "PR #12" ||
			!strings.HasPrefix(ev.LongTitle, "PR #12: A long title") || len([]rune(ev.LongTitle)) != 100 || ev.Payload != body ||
			ev.SourceState != nil {
			t.Fatalf("event %+v git %+v", ev, ev.Git)
		}
	})

	t.Run("Push", func(t *testing.T) {
		ids := ghIDs(t, ghPost(t, url, ghDelivery{event: "push", body: ghPush}))
		ev := ts.getEvent(ids[0])
		if len(ids) != 1 || ev.Type != "push" || ev.Git.Ref != "refs/heads/main" || ev.ShortTitle != "branch: main" ||
			ev.LongTitle != "branch: main" || ev.Labels["hookID"] != "7" || ev.Labels["appID"] != "" {
			t.Fatalf("branch push: %+v", ev)
		}
		tag := strings.Replace(ghPush, "refs/heads/main", "refs/tags/v1.2.0", 1)
		ev = ts.getEvent(ghIDs(t, ghPost(t, url, ghDelivery{event: "push", body: tag}))[0])
		if ev.Type != "push" || ev.Git.Ref != "refs/tags/v1.2.0" || ev.ShortTitle != "tag: v1.2.0" {
			t.Fatalf("tag push: %+v", ev)
		}
		del := strings.Replace(ghPush, `"deleted":false`, `"deleted":true`, 1)
		del = strings.Replace(del, `"head_commit":{"id":"6dcb09b5b57875f334f61aebed695e2e4193db5e"}`, `"head_commit":null`, 1)
		ev = ts.getEvent(ghIDs(t, ghPost(t, url, ghDelivery{event: "push", body: del}))[0])
		if ev.Type != "push:delete" || ev.Git != nil {
			t.Fatalf("deletion: %+v", ev)
		}
	})

	t.Run("CheckSuiteRequested", func(t *testing.T) {
		body := `{"action":"requested","check_suite":{"head_sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","head_branch":"main"},` +
			`"installation":{"id":99},"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}}`
		d := ghDelivery{event: "check_suite", body: body, app: true}
		d.guid = ghGUID()
		ids := ghIDs(t, ghPost(t, url, d))
		if len(ids) != 2 {
			t.Fatalf("ids %v", ids)
		}
		want := map[string]string{"tracking": "true", "installationID": "99", "owner": "octo", "repo": "hello",
			"headSHA": "6dcb09b5b57875f334f61aebed695e2e4193db5e"}
		for i, typ := range []string{"check_suite:requested", "ci:pipeline_requested"} {
			ev := ts.getEvent(ids[i])
			if ev.Type != typ || ev.SourceState == nil || fmt.Sprint(ev.SourceState.State) != fmt.Sprint(want) ||
				ev.Git.Commit != want["headSHA"] || ev.Git.Ref != "main" || ev.Payload != body {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
		// A redelivery replays both and creates nothing; the same GUID
		// from another hook is another delivery.
		before := ghEventCount(t, ts)
		if again := ghIDs(t, ghPost(t, url, d)); !slices.Equal(again, ids) {
			t.Fatalf("redelivery: %v, want %v", again, ids)
		}
		if n := ghEventCount(t, ts); n != before {
			t.Fatalf("the redelivery made events: %d then %d", before, n)
		}
		d.hook = "8"
		if other := ghIDs(t, ghPost(t, url, d)); len(other) != 2 || slices.Contains(ids, other[0]) || slices.Contains(ids, other[1]) {
			t.Fatalf("another hook's delivery: %v (first %v)", other, ids)
		}
	})

	t.Run("CheckRunRerequested", func(t *testing.T) {
		ts.createProject("proj", core.EventSubscription{Source: github.Source,
			Types: []string{"check_run:rerequested", "ci:job_requested"}, Qualifiers: ghRepo("octo/hello")})
		body := `{"action":"rerequested","check_run":{"name":"proj:build","head_sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e",` +
			`"check_suite":{"head_sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","head_branch":"main"}},` +
			`"installation":{"id":99},"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}}`
		ids := ghIDs(t, ghPost(t, url, ghDelivery{event: "check_run", body: body, app: true}))
		if len(ids) != 2 {
			t.Fatalf("ids %v", ids)
		}
		orig, ci := ts.getEvent(ids[0]), ts.getEvent(ids[1])
		if orig.Type != "check_run:rerequested" || orig.ProjectID != "proj" || orig.Labels["job"] != "" ||
			ci.Type != "ci:job_requested" || ci.ProjectID != "proj" || ci.Labels["job"] != "build" || ci.Labels["appID"] != "42" ||
			ci.SourceState == nil || ci.SourceState.State["tracking"] != "true" {
			t.Fatalf("events %+v / %+v", orig, ci)
		}
		// A check run of a project that does not exist here.
		nosuch := strings.Replace(body, "proj:build", "nosuch:build", 1)
		if ids := ghIDs(t, ghPost(t, url, ghDelivery{event: "check_run", body: nosuch, app: true})); len(ids) != 0 {
			t.Fatalf("ids %v", ids)
		}
		// A check run that is not one of ours (no "project:" in its name).
		other := strings.Replace(body, "proj:build", "lint", 1)
		if ids := ghIDs(t, ghPost(t, url, ghDelivery{event: "check_run", body: other, app: true})); len(ids) != 0 {
			t.Fatalf("ids %v", ids)
		}
	})

	t.Run("InstallationWithThreeRepositories", func(t *testing.T) {
		var subs []core.EventSubscription
		for _, r := range []string{"octo/a", "octo/b", "octo/c"} {
			subs = append(subs, core.EventSubscription{Source: github.Source, Types: []string{"installation:created"}, Qualifiers: ghRepo(r)})
		}
		ts.createProject("installs", subs...)
		body := `{"action":"created","installation":{"id":99},"repositories":[` +
			`{"full_name":"octo/a","name":"a"},{"full_name":"octo/b","name":"b"},{"full_name":"octo/c","name":"c"}]}`
		d := ghDelivery{event: "installation", body: body, app: true, guid: ghGUID()}
		ids := ghIDs(t, ghPost(t, url, d))
		if len(ids) != 3 {
			t.Fatalf("ids %v", ids)
		}
		var repos []string
		for _, id := range ids {
			ev := ts.getEvent(id)
			if ev.Type != "installation:created" || len(ev.Qualifiers) != 1 {
				t.Fatalf("event %+v", ev)
			}
			repos = append(repos, ev.Qualifiers["repo"])
		}
		slices.Sort(repos)
		if fmt.Sprint(repos) != "[octo/a octo/b octo/c]" {
			t.Fatalf("repos %v", repos)
		}
		if again := ghIDs(t, ghPost(t, url, d)); !slices.Equal(again, ids) {
			t.Fatalf("redelivery: %v, want %v", again, ids)
		}
	})

	t.Run("ReleasePublished", func(t *testing.T) {
		body := `{"action":"published","release":{"tag_name":"v2.0.0"},` +
			`"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}}`
		ids := ghIDs(t, ghPost(t, url, ghDelivery{event: "release", body: body}))
		if len(ids) != 2 || ts.getEvent(ids[0]).Type != "release:published" || ts.getEvent(ids[1]).Type != "cd:pipeline_requested" ||
			ts.getEvent(ids[1]).Git.Ref != "v2.0.0" {
			t.Fatalf("ids %v", ids)
		}
	})

	t.Run("NoSubscriber", func(t *testing.T) {
		body := strings.ReplaceAll(ghPush, "octo/hello", "octo/nobody")
		if ids := ghIDs(t, ghPost(t, url, ghDelivery{event: "push", body: body})); len(ids) != 0 {
			t.Fatalf("ids %v", ids)
		}
	})

	t.Run("LargerThanTheAPITakesIs413", func(t *testing.T) {
		// The test server's API takes 64 KiB.
		body := strings.Replace(ghPush, `"deleted":false`, `"deleted":false,"pad":"`+strings.Repeat("x", 70<<10)+`"`, 1)
		r := ghPost(t, url, ghDelivery{event: "push", body: body})
		if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.Body), "--max-body-bytes") {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})

	t.Run("UnqualifiableRepositoryIs422", func(t *testing.T) {
		body := strings.ReplaceAll(ghPush, `"full_name":"octo/hello"`, `"full_name":"octo/hello world"`)
		if r := ghPost(t, url, ghDelivery{event: "push", body: body}); r.Status != 422 {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})
}

// TestGitHubGatewayLimitsAndSHA1: the body limit (exactly the limit is
// taken, one byte more is 413 with nothing created) and legacy SHA-1
// signatures when they are allowed.
func TestGitHubGatewayLimitsAndSHA1(t *testing.T) {
	limit := int64(len(ghPush))
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) {
		c.Gateways.GitHub = github.Config{WebhookSecret: ghWebhookSecret, AllowSHA1: true, MaxBodyBytes: limit}
	})
	url := ts.url + "/gateways/github"
	ts.createProject("hello", core.EventSubscription{Source: github.Source, Types: []string{"push"}, Qualifiers: ghRepo("octo/hello")})
	if ids := ghIDs(t, ghPost(t, url, ghDelivery{event: "push", body: ghPush})); len(ids) != 1 {
		t.Fatalf("exactly the limit: %v", ids)
	}
	r := ghPost(t, url, ghDelivery{event: "push", body: ghPush + " "})
	if r.Status != http.StatusRequestEntityTooLarge || ghEventCount(t, ts) != 1 {
		t.Fatalf("one byte over the limit: %d %s, %d events", r.Status, r.Body, ghEventCount(t, ts))
	}
	r = ghPost(t, url, ghDelivery{event: "push", body: ghPush, sign: func(b []byte) (string, string) {
		return "X-Hub-Signature", ghSign1(ghWebhookSecret, b)
	}})
	if ids := ghIDs(t, r); len(ids) != 1 {
		t.Fatalf("SHA-1 allowed: %v", ids)
	}
	// Both signatures: the SHA-256 one decides.
	r = ghPost(t, url, ghDelivery{event: "push", body: ghPush, header: map[string]string{"X-Hub-Signature": ghSign1(ghWebhookSecret, []byte(ghPush))},
		sign: func(b []byte) (string, string) { return "X-Hub-Signature-256", ghSign256("other", b) }})
	ghRefused(t, r)
}

// TestGitHubGatewayAPIRefusal: alone (POST /events), with a token the API
// does not take or that may not create its events, a delivery is answered
// 502 and creates nothing; a redelivery with a good token then works.
func TestGitHubGatewayAPIRefusal(t *testing.T) {
	ts := startTestServer(t, t.TempDir())
	ts.createProject("hello", core.EventSubscription{Source: github.Source, Types: []string{"push"}, Qualifiers: ghRepo("octo/hello")})
	root := client.New(ts.url, ts.root)
	sa, err := root.CreateServiceAccount(t.Context(), "gh-reader", "reads only")
	if err != nil {
		t.Fatal(err)
	}
	if err := root.GrantRole(t.Context(), core.RoleAssignment{Role: "READER",
		Principal: core.PrincipalReference{Type: "SERVICE_ACCOUNT", ID: "gh-reader"}}); err != nil {
		t.Fatal(err)
	}
	var logs ghLog
	alone := func(token string) string {
		cfg := github.Config{WebhookSecret: ghWebhookSecret}
		g, err := cfg.Build(gateway.Env{API: client.New(ts.url, token), Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		if err := gateway.Mount(mux, []gateway.Gateway{g}, true, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL + "/events"
	}
	guid := ghGUID()
	for name, token := range map[string]string{"UnknownToken": "not-a-token-0123456789", "NotAnEventCreator": sa.Value} {
		r := ghPost(t, alone(token), ghDelivery{event: "push", body: ghPush, guid: guid})
		if r.Status != http.StatusBadGateway || ghEventCount(t, ts) != 0 {
			t.Fatalf("%s: got %d %s, %d events", name, r.Status, r.Body, ghEventCount(t, ts))
		}
	}
	if l := logs.String(); !strings.Contains(l, "Could not authenticate") || !strings.Contains(l, "needs the EVENT_CREATOR role") ||
		strings.Contains(l, ghWebhookSecret) {
		t.Fatalf("the causes are not logged (or the secret is):\n%s", l)
	}
	if err := root.GrantRole(t.Context(), core.RoleAssignment{Role: "EVENT_CREATOR", Scope: github.Source,
		Principal: core.PrincipalReference{Type: "SERVICE_ACCOUNT", ID: "gh-reader"}}); err != nil {
		t.Fatal(err)
	}
	if ids := ghIDs(t, ghPost(t, alone(sa.Value), ghDelivery{event: "push", body: ghPush, guid: guid})); len(ids) != 1 {
		t.Fatalf("redelivered with a good token: %v", ids)
	}
}

// byName is the bodies sent for each check run, by the run's name.
func (f *ghFake) byName() map[string][]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]map[string]any{}
	for _, bodies := range f.runs {
		name, _ := bodies[0]["name"].(string)
		out[name] = slices.Clone(bodies)
	}
	return out
}

func (f *ghFake) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *ghFake) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == call {
			n++
		}
	}
	return n
}

// waitFor waits until cond holds, each time the fake is called, for at
// most a minute.
func (f *ghFake) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	for !cond() {
		select {
		case <-f.changed:
		case <-deadline:
			t.Fatalf("waited a minute for %s; calls %v", what, f.callList())
		}
	}
}

const ghCIScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/github", "ci:pipeline_requested", async event => {
  const build = new Job("build", "x", event);
  build.primaryContainer.command = ["sh"];
  build.primaryContainer.arguments = ["-c", "echo built it"];
  await build.run();
  const test = new Job("test", "x", event);
  test.primaryContainer.command = ["sh"];
  test.primaryContainer.arguments = ["-c", "echo tests failed; exit 3"];
  await test.run();
});
events.process();`

// TestGitHubAppCheckRuns: a check_suite delivery of an App becomes a
// ci:pipeline_requested event whose script really runs; each of its jobs
// is reported to (a local fake of) the GitHub API as a check run named
// project:job, created and then completed with its conclusion and log,
// and the event stops being tracked once everything has ended.
func TestGitHubAppCheckRuns(t *testing.T) {
	fake := newGHFake(t)
	rs := startRunning(t, t.TempDir(), server.Config{Gateways: gateways.Config{GitHub: github.Config{
		AppsFile: ghAppsFile(t), APIURL: fake.srv.URL, ReportInterval: 50 * time.Millisecond}}})
	p := &core.Project{Metadata: core.ObjectMeta{ID: "ghci"}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: github.Source, Types: []string{"ci:pipeline_requested"},
			Qualifiers: ghRepo("octo/hello")}},
		WorkerTemplate: core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": ghCIScript}},
	}}
	if _, err := rs.c.CreateProject(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	body := `{"action":"requested","check_suite":{"head_sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","head_branch":"main"},` +
		`"installation":{"id":99},"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}}`
	ids := ghIDs(t, ghPost(t, rs.srv.URL()+"/gateways/github", ghDelivery{event: "check_suite", body: body, app: true}))
	if len(ids) != 1 {
		t.Fatalf("ids %v", ids)
	}
	if ev := rs.waitWorker(t, ids[0]); ev.Worker.Status.Phase != core.PhaseFailed {
		t.Fatalf("worker %s", ev.Worker.Status.Phase)
	}
	last := func(name string) map[string]any {
		bodies := fake.byName()[name]
		if len(bodies) == 0 {
			return nil
		}
		return bodies[len(bodies)-1]
	}
	fake.waitFor(t, "both check runs to complete", func() bool {
		b, tst := last("ghci:build"), last("ghci:test")
		return b != nil && b["status"] == "completed" && tst != nil && tst["status"] == "completed"
	})
	runs := fake.byName()
	for name, want := range map[string]struct{ conclusion, log string }{
		"ghci:build": {"success", "built it"}, "ghci:test": {"failure", "tests failed"},
	} {
		first, end := runs[name][0], runs[name][len(runs[name])-1]
		out, _ := end["output"].(map[string]any)
		if first["head_sha"] != "6dcb09b5b57875f334f61aebed695e2e4193db5e" || end["conclusion"] != want.conclusion ||
			end["completed_at"] == nil || end["started_at"] == nil || out == nil || out["title"] != name ||
			out["summary"] != "Job Logs" || !strings.Contains(out["text"].(string), want.log) {
			t.Fatalf("%s: %v", name, runs[name])
		}
	}
	// Tracking ends once everything is reported.
	ghWaitUntracked(t, rs.srv, rs.c, ids[0])
	if n := fake.count("POST /app/installations/99/access_tokens"); n != 1 {
		t.Fatalf("%d installation tokens asked for; one is kept until it expires", n)
	}
}

// TestGitHubAppCheckSuiteRequests: a fork's pull request, and a
// "/brig check" comment on a pull request, by an allowed author make the
// gateway ask GitHub for a check suite (finding or creating the App's
// suite on the head commit, then re-requesting it), after answering the
// delivery; a disallowed author's do not.
func TestGitHubAppCheckSuiteRequests(t *testing.T) {
	fake := newGHFake(t)
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) {
		c.Gateways.GitHub = github.Config{AppsFile: ghAppsFile(t), APIURL: fake.srv.URL, CheckSuiteAuthors: []string{"OWNER", "MEMBER"}}
	})
	url := ts.url + "/gateways/github"
	repo := `"installation":{"id":99},"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}`
	pr := func(assoc, sha string) string {
		return `{"action":"opened","number":13,"pull_request":{"number":13,"title":"t","author_association":"` + assoc + `",` +
			`"head":{"sha":"` + sha + `","repo":{"fork":true,"full_name":"fork/hello"}}},` + repo + `}`
	}
	comment := func(assoc string) string {
		return `{"action":"created","issue":{"number":12,"pull_request":{}},"comment":{"body":"Please /BRIG Check this",` +
			`"author_association":"` + assoc + `"},` + repo + `}`
	}
	// Disallowed authors: nothing is asked of GitHub for them.
	ghIDs(t, ghPost(t, url, ghDelivery{event: "pull_request", body: pr("NONE", "1111111111111111111111111111111111111111"), app: true}))
	ghIDs(t, ghPost(t, url, ghDelivery{event: "issue_comment", body: comment("CONTRIBUTOR"), app: true}))

	ghIDs(t, ghPost(t, url, ghDelivery{event: "pull_request", body: pr("MEMBER", "2222222222222222222222222222222222222222"), app: true}))
	fake.waitFor(t, "the fork's check suite to be re-requested", func() bool {
		return fake.count("POST /repos/octo/hello/check-suites/777/rerequest") == 1
	})
	if fake.count("POST /repos/octo/hello/check-suites") != 1 ||
		fake.count("GET /repos/octo/hello/commits/2222222222222222222222222222222222222222/check-suites") != 1 {
		t.Fatalf("calls %v", fake.callList())
	}
	ghIDs(t, ghPost(t, url, ghDelivery{event: "issue_comment", body: comment("OWNER"), app: true}))
	fake.waitFor(t, "the commented pull request's check suite to be re-requested", func() bool {
		return fake.count("POST /repos/octo/hello/check-suites/555/rerequest") == 1
	})
	if fake.count("GET /repos/octo/hello/pulls/12") != 1 ||
		fake.count("GET /repos/octo/hello/commits/1111111111111111111111111111111111111111/check-suites") != 0 {
		t.Fatalf("a disallowed author's delivery reached GitHub: %v", fake.callList())
	}
}

// TestGitHubAppCheckRunsAfterRestart: the check run made for a job is
// remembered with the event, so that a restarted gateway updates it
// rather than making another; a job that never ran is reported too.
func TestGitHubAppCheckRunsAfterRestart(t *testing.T) {
	fake := newGHFake(t)
	dir, apps := t.TempDir(), ghAppsFile(t)
	start := func() *testServer {
		return startTestServer(t, dir, func(c *server.Config) {
			c.Gateways.GitHub = github.Config{AppsFile: apps, APIURL: fake.srv.URL, ReportInterval: 50 * time.Millisecond}
		})
	}
	ts := start()
	ts.createProject("resume", core.EventSubscription{Source: github.Source, Types: []string{"ci:pipeline_requested"},
		Qualifiers: ghRepo("octo/hello")})
	body := `{"action":"rerequested","check_suite":{"head_sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","head_branch":"main"},` +
		`"installation":{"id":99},"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}}`
	ids := ghIDs(t, ghPost(t, ts.url+"/gateways/github", ghDelivery{event: "check_suite", body: body, app: true}))
	if len(ids) != 1 {
		t.Fatalf("ids %v", ids)
	}
	id := ids[0]
	token := ts.startWorker(id)
	ts.setWorkerPhase(id, core.PhaseRunning)
	for _, job := range []string{"build", "never"} {
		ts.expect(http.StatusCreated, "POST", "/v2/events/"+id+"/worker/jobs", token, jobBody(job, nil))
	}
	fake.waitFor(t, "queued check runs", func() bool { return len(fake.byName()) == 2 })
	ts.stop()

	ts = start()
	ts.startJob(id, "build")
	ts.expect(http.StatusOK, "PUT", "/v2/events/"+id+"/worker/jobs/build/status", observerToken, statusBody("JobStatus", core.PhaseRunning))
	fake.waitFor(t, "the build's check run to be in progress", func() bool {
		runs := fake.byName()["resume:build"]
		return runs[len(runs)-1]["status"] == "in_progress"
	})
	ts.expect(http.StatusOK, "PUT", "/v2/events/"+id+"/worker/jobs/build/status", observerToken, statusBody("JobStatus", core.PhaseSucceeded))
	ts.expect(http.StatusOK, "PUT", "/v2/events/"+id+"/worker/jobs/never/status", observerToken, statusBody("JobStatus", core.PhaseSchedulingFailed))
	ts.setWorkerPhase(id, core.PhaseFailed)
	fake.waitFor(t, "both check runs to complete", func() bool {
		runs := fake.byName()
		b, n := runs["resume:build"], runs["resume:never"]
		return b[len(b)-1]["conclusion"] == "success" && n[len(n)-1]["conclusion"] == "failure"
	})
	if n := fake.count("POST /repos/octo/hello/check-runs"); n != 2 {
		t.Fatalf("%d check runs created, want 2 (one per job, across the restart): %v", n, fake.callList())
	}
	ghWaitUntracked(t, ts.srv, client.New(ts.url, ts.root), id)
}

// ghLog is a log sink that tests may read while servers write to it.
type ghLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *ghLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *ghLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestGitHubAppGoneRepository: an event whose check runs GitHub will never
// take (the repository is gone) stops being tracked.
func TestGitHubAppGoneRepository(t *testing.T) {
	fake := newGHFake(t)
	ts := startTestServer(t, t.TempDir(), func(c *server.Config) {
		c.Gateways.GitHub = github.Config{AppsFile: ghAppsFile(t), APIURL: fake.srv.URL, ReportInterval: 50 * time.Millisecond}
	})
	ts.createProject("gone", core.EventSubscription{Source: github.Source, Types: []string{"ci:pipeline_requested"},
		Qualifiers: ghRepo("octo/gone")})
	body := `{"action":"requested","check_suite":{"head_sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","head_branch":"main"},` +
		`"installation":{"id":99},"repository":{"full_name":"octo/gone","name":"gone","owner":{"login":"octo"}}}`
	ids := ghIDs(t, ghPost(t, ts.url+"/gateways/github", ghDelivery{event: "check_suite", body: body, app: true}))
	if len(ids) != 1 {
		t.Fatalf("ids %v", ids)
	}
	id := ids[0]
	token := ts.startWorker(id)
	ts.setWorkerPhase(id, core.PhaseRunning)
	ts.expect(http.StatusCreated, "POST", "/v2/events/"+id+"/worker/jobs", token, jobBody("build", nil))
	ghWaitUntracked(t, ts.srv, client.New(ts.url, ts.root), id)
	if fake.count("GET /repos/octo/gone/commits/6dcb09b5b57875f334f61aebed695e2e4193db5e/check-runs") == 0 {
		t.Fatalf("GitHub was not asked: %v", fake.callList())
	}
}

// ghWaitUntracked waits until event id has no source state left.
func ghWaitUntracked(t *testing.T, srv *server.Server, c *client.Client, id string) {
	t.Helper()
	changes, cancel := srv.Store().Subscribe(core.TopicEvent(id))
	defer cancel()
	deadline := time.After(time.Minute)
	for {
		ev, err := c.GetEvent(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ev.SourceState == nil || len(ev.SourceState.State) == 0 {
			return
		}
		select {
		case <-changes:
		case <-deadline:
			t.Fatalf("event %s is still tracked: %v", id, ev.SourceState.State)
		}
	}
}
