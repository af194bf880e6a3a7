package github

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/gateway"
)

func TestVerifyVectors(t *testing.T) {
	for _, c := range []struct {
		secret, body, header, sig string
		sha1, want                bool
	}{
		{"It's a Secret to Everybody", "Hello, World!", hdrSig256,
			"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", false, true},
		{"It's a Secret to Everybody", "Hello, World!", hdrSig1, "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59", true, true},
		{"It's a Secret to Everybody", "Hello, World!", hdrSig1, "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59", false, false},
		{"s3cr3t", `{"zen":"Keep it simple.","hook_id":1}`, hdrSig256,
			"sha256=0be5370de5ae5f5b6983c569d3cff974fb20c975c93202c7923778255a174ba4", false, true},
		{"s3cr3t", `{"zen":"Keep it simple.","hook_id":1}`, hdrSig1, "sha1=bba4190a46c5e4139bdad76003b2174795bf5c77", true, true},
		{"s3cr3t", `{"zen":"Keep it simple.","hook_id":2}`, hdrSig1, "sha1=bba4190a46c5e4139bdad76003b2174795bf5c77", true, false},
		{"s3cr3t", "x", hdrSig256, "sha256=", false, false},
		{"s3cr3t", "x", hdrSig256, "sha1=bba4190a46c5e4139bdad76003b2174795bf5c77", true, false},
	} {
		h := http.Header{}
		h.Set(c.header, c.sig)
		if got := verify(h, []byte(c.body), c.secret, c.sha1); got != c.want {
			t.Errorf("%s %q with %s (sha1 %v): %v, want %v", c.secret, c.body, c.sig, c.sha1, got, c.want)
		}
	}
}

func TestKeys(t *testing.T) {
	h := http.Header{}
	if deliveryKey(h) != "" {
		t.Fatal("a key without a delivery GUID")
	}
	h.Set(hdrDelivery, "g1")
	h.Set(hdrTargetType, "repository")
	h.Set(hdrTargetID, "5")
	if k := deliveryKey(h); k != "hook/repository:5/g1" {
		t.Fatal(k)
	}
	h.Set(hdrHookID, "7")
	k := deliveryKey(h)
	if k != "hook/7/g1" || subKey(k, "ci:pipeline_requested") != "hook/7/g1/ci:pipeline_requested" || subKey("", "x") != "" {
		t.Fatal(k)
	}
	long := subKey(k, strings.Repeat("x", 300))
	if len(long) > maxKey || long == subKey(k, strings.Repeat("x", 301)) || subKey(k, "a\nb") == k+"/a\nb" {
		t.Fatal(long)
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("PR #1: "+strings.Repeat("é", 200), 100); utf8.RuneCountInString(got) != 100 || !strings.HasSuffix(got, "…") {
		t.Fatal(got)
	}
	if truncate("short", 50) != "short" {
		t.Fatal("cut a short title")
	}
}

func TestLogTail(t *testing.T) {
	var small tail
	small.add("one\n")
	small.add("two\n")
	if small.text() != "one\ntwo\n" {
		t.Fatal(small.text())
	}
	var big tail
	for i := 0; i < 40000; i++ {
		big.add("héllo\n")
	}
	big.add("last line\n")
	txt := big.text()
	if len(txt) > maxCheckRunText || !strings.HasPrefix(txt, truncatedMarker) || !strings.HasSuffix(txt, "héllo\nlast line\n") ||
		!utf8.ValidString(txt) {
		t.Fatalf("%d bytes, starts %q", len(txt), txt[:80])
	}
}

func TestAppJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	tok, err := appJWT(&App{ID: 42, Key: key}, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatal(tok)
	}
	enc := base64.RawURLEncoding
	sig, _ := enc.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatal(err)
	}
	var header, claims map[string]any
	hb, _ := enc.DecodeString(parts[0])
	cb, _ := enc.DecodeString(parts[1])
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		t.Fatal(tok)
	}
	if header["alg"] != "RS256" || claims["iss"] != "42" || claims["exp"].(float64) != float64(now.Add(5*time.Minute).Unix()) ||
		claims["iat"].(float64) >= float64(now.Unix()) {
		t.Fatal(header, claims)
	}
}

func TestLoadApps(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	write := func(v any) string {
		b, _ := json.Marshal(v)
		p := filepath.Join(t.TempDir(), "apps.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	apps, err := loadApps(write([]map[string]any{{"appID": 1, "sharedSecret": "a", "apiKey": pemKey}, {"appID": 2, "sharedSecret": "b"}}))
	if err != nil || apps[1].Key == nil || apps[2].Key != nil || apps[2].SharedSecret != "b" {
		t.Fatal(apps, err)
	}
	for name, c := range map[string]struct {
		v    any
		want string
	}{
		"NotAnArray": {map[string]any{"appID": 1}, "JSON array"},
		"NoID":       {[]map[string]any{{"sharedSecret": "a"}}, "not a GitHub App ID"},
		"NoSecret":   {[]map[string]any{{"appID": 3}}, "no sharedSecret"},
		"Twice":      {[]map[string]any{{"appID": 3, "sharedSecret": "a"}, {"appID": 3, "sharedSecret": "b"}}, "twice"},
		"BadKey":     {[]map[string]any{{"appID": 3, "sharedSecret": "a", "apiKey": "nope"}}, "not a PEM block"},
	} {
		if _, err := loadApps(write(c.v)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
	if _, err := loadApps(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "--github-apps-file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestValidProjectID(t *testing.T) {
	for s, want := range map[string]bool{"proj": true, "my-proj-2": true, "ab": false, "Proj": false, "proj-": false, "9proj": false, "pr_oj": false} {
		if validProjectID(s) != want {
			t.Errorf("%q: %v", s, !want)
		}
	}
}

func TestBuild(t *testing.T) {
	if g, err := (&Config{}).Build(gateway.Env{}); g != nil || err != nil {
		t.Fatalf("off by default: %v %v", g, err)
	}
	for _, c := range []Config{
		{WebhookSecret: "s", MaxBodyBytes: -1},
		{WebhookSecret: "s", ReportInterval: -time.Second},
		{WebhookSecret: "s", APIURL: "api.github.com"},
	} {
		if _, err := c.Build(gateway.Env{}); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	g, err := (&Config{WebhookSecret: "s"}).Build(gateway.Env{})
	if err != nil || g.(*Gateway).cfg.MaxBodyBytes != DefaultMaxBodyBytes || g.(*Gateway).gh != nil {
		t.Fatalf("%v %+v", err, g)
	}
	if err := g.Run(t.Context()); err != nil {
		t.Fatalf("Run without an App key: %v", err)
	}
}

func TestRunKey(t *testing.T) {
	if runKey("build-2") != "run-build-2" {
		t.Fatal(runKey("build-2"))
	}
	if k := runKey("my_job.1"); k == runKey("my_job.2") || strings.ContainsAny(k, "_.") || len(k) != len("run-")+16 {
		t.Fatal(k)
	}
}

func TestMapDelivery(t *testing.T) {
	const repo = `"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}`
	app := &App{ID: 42}
	for _, c := range []struct {
		name, body string
		app        *App
		// want is "type ref commit short|long" per event
		want []string
	}{
		{"create", `{"ref":"feature","ref_type":"branch",` + repo + `}`, nil, []string{"create feature  |"}},
		{"delete", `{"ref":"feature",` + repo + `}`, nil, []string{"delete   |"}},
		{"status", `{"sha":"6dcb09b5","commit":{"sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e"},` + repo + `}`, nil,
			[]string{"status  6dcb09b5b57875f334f61aebed695e2e4193db5e |"}},
		{"watch", `{"action":"started",` + repo + `}`, nil, []string{"watch:started   |"}},
		{"pull_request_review", `{"action":"submitted","pull_request":{"number":3,"title":"Fix","head":{"sha":"abcdef0123"}},` + repo + `}`,
			app, []string{"pull_request_review:submitted refs/pull/3/head abcdef0123 PR #3|PR #3: Fix"}},
		{"installation_repositories", `{"action":"removed","repositories_added":[],` +
			`"repositories_removed":[{"full_name":"octo/a"},{"full_name":"octo/b"}]}`, app,
			[]string{"installation_repositories:removed   |", "installation_repositories:removed   |"}},
		{"installation", `{"action":"deleted","repositories":[]}`, app, nil},
		{"release", `{"action":"edited","release":{"tag_name":"v1"},` + repo + `}`, nil, []string{"release:edited v1  |"}},
		{"push", `{"ref":"refs/heads/main","head_commit":{"id":"not-hex"},` + repo + `}`, nil, []string{"push refs/heads/main  branch: main|branch: main"}},
		{"star", `not even JSON`, nil, nil},
	} {
		evs, err := mapDelivery(delivery{name: c.name, app: c.app, hookID: "7", key: "hook/7/g"}, []byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		keys := map[string]bool{}
		for _, e := range evs {
			ref, commit := "", ""
			if e.ev.Git != nil {
				ref, commit = e.ev.Git.Ref, e.ev.Git.Commit
			}
			got = append(got, e.ev.Type+" "+ref+" "+commit+" "+e.ev.ShortTitle+"|"+e.ev.LongTitle)
			if keys[e.key] || e.ev.Payload != c.body || e.ev.Source != Source {
				t.Errorf("%s: key %q twice, or payload/source changed", c.name, e.key)
			}
			keys[e.key] = true
			if c.app != nil && e.ev.Labels["appID"] != "42" || c.app == nil && e.ev.Labels["hookID"] != "7" {
				t.Errorf("%s: labels %v", c.name, e.ev.Labels)
			}
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
