package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// gatewayAPI is a real API server for gateways running alone to talk to,
// with a root client to set it up and look at what they created.
type gatewayAPI struct {
	addr string
	root *client.Client
}

func startGatewayAPI(t *testing.T) *gatewayAPI {
	t.Helper()
	srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: "gateway-test-password"})
	root, err := testenv.RootClient(t.Context(), srv, "gateway-test-password")
	if err != nil {
		t.Fatal(err)
	}
	return &gatewayAPI{addr: "http://" + srv.Addr(), root: root}
}

// serviceAccount creates a service account holding READER (if reader) and
// EVENT_CREATOR for each of sources, and returns its token.
func (a *gatewayAPI) serviceAccount(t *testing.T, id string, reader bool, sources ...string) string {
	t.Helper()
	ctx := t.Context()
	tok, err := a.root.CreateServiceAccount(ctx, id, "brigade gateway test")
	if err != nil {
		t.Fatal(err)
	}
	who := core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: id}
	if reader {
		if err := a.root.GrantRole(ctx, core.RoleAssignment{Role: "READER", Principal: who}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sources {
		if err := a.root.GrantRole(ctx, core.RoleAssignment{Role: "EVENT_CREATOR", Principal: who, Scope: s}); err != nil {
			t.Fatal(err)
		}
	}
	return tok.Value
}

func (a *gatewayAPI) project(t *testing.T, id string, subs ...core.EventSubscription) {
	t.Helper()
	if _, err := a.root.CreateProject(t.Context(), &core.Project{Metadata: core.ObjectMeta{ID: id},
		Spec: core.ProjectSpec{EventSubscriptions: subs}}); err != nil {
		t.Fatal(err)
	}
}

// events lists the events of a project from a source.
func (a *gatewayAPI) events(t *testing.T, projectID, source string) []core.Event {
	t.Helper()
	l, err := a.root.ListEvents(t.Context(), &client.EventSelector{ProjectID: projectID, Source: source}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// gatewayProcess is `brigade gateway ...` running as its own process.
type gatewayProcess struct {
	url    string
	stderr *tailLines
}

// startGateway runs `brigade gateway args...` on a free port and returns
// once its /healthz answers 200; it fails the test if the process exits
// first.
func startGateway(t *testing.T, bin string, args ...string) *gatewayProcess {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"gateway"}, append(args, "--addr", addr, "--log-level", "debug")...)...)
	cmd.Env = environWithoutBrigade()
	stderr := &tailLines{max: 200}
	cmd.Stderr = lineWriter{stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	g := &gatewayProcess{url: "http://" + addr, stderr: stderr}
	deadline := time.Now().Add(2 * time.Minute) // generous: it only turns a hang into a failure
	for {
		resp, err := http.Get(g.url + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(body) == "ok" {
				return g
			}
			t.Fatalf("/healthz answered %d %q; the gateway's stderr:\n%s", resp.StatusCode, body, stderr)
		}
		select {
		case <-exited:
			t.Fatalf("brigade gateway %s exited before it served; its stderr:\n%s", strings.Join(args, " "), stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer within 2 minutes: %v; the gateway's stderr:\n%s", err, stderr)
		}
	}
}

// send posts body to the gateway at path with headers and returns the
// status and body of the answer.
func (g *gatewayProcess) send(t *testing.T, path string, body []byte, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v; the gateway's stderr:\n%s", path, err, g.stderr)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// environWithoutBrigade is this process's environment without BRIGADE_
// variables, which would set the gateway's flags.
func environWithoutBrigade() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BRIGADE_") {
			env = append(env, kv)
		}
	}
	return env
}

// lineWriter feeds what a process writes to a tailLines, line by line.
type lineWriter struct{ l *tailLines }

func (w lineWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.l.add(line)
	}
	return len(p), nil
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (it only turns a hang into a failure).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waited 2 minutes for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestGatewaysAlone runs each built-in gateway as its own process,
// `brigade gateway NAME`, against a real API with a service account's token,
// and checks that what it is sent becomes an event of a subscribed project.
func TestGatewaysAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the brigade binary; skipped with -short")
	}
	bin := buildBinary(t)
	api := startGatewayAPI(t)

	t.Run("GitHub", func(t *testing.T) {
		const source, secret = "brigade.sh/github", "s3cr3t"
		api.project(t, "github", core.EventSubscription{Source: source, Types: []string{"push"}, Qualifiers: map[string]string{"repo": "octo/hello"}})
		token := api.serviceAccount(t, "github-gateway", true, source)
		gw := startGateway(t, bin, "github", "--api-address", api.addr, "--api-token", token, "--github-webhook-secret", secret)

		body := []byte(`{"ref":"refs/heads/main","head_commit":{"id":"6dcb09b5b57875f334f61aebed695e2e4193db5e"},` +
			`"repository":{"full_name":"octo/hello","name":"hello","owner":{"login":"octo"}}}`)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		h := http.Header{
			"Content-Type":        {"application/json"},
			"X-Github-Event":      {"push"},
			"X-Github-Delivery":   {"72d3162e-cc78-11e3-81ab-4c9367dc0958"},
			"X-Github-Hook-Id":    {"292430182"},
			"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))},
		}
		code, answer := gw.send(t, "/events", body, h)
		if code != http.StatusOK || !strings.Contains(answer, `"eventIDs":["`) {
			t.Fatalf("push: %d %s; the gateway's stderr:\n%s", code, answer, gw.stderr)
		}
		evs := api.events(t, "github", source)
		if len(evs) != 1 || evs[0].Type != "push" || evs[0].Qualifiers["repo"] != "octo/hello" || evs[0].Payload != string(body) ||
			evs[0].Git == nil || evs[0].Git.Commit != "6dcb09b5b57875f334f61aebed695e2e4193db5e" || !strings.Contains(answer, evs[0].Metadata.ID) {
			t.Fatalf("events of project github: %+v\nanswer: %s", evs, answer)
		}

		// A wrong signature creates nothing.
		h.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
		h.Set("X-Github-Delivery", "another")
		if code, answer := gw.send(t, "/events", body, h); code != http.StatusForbidden {
			t.Fatalf("a wrong signature: %d %s", code, answer)
		}
		if evs := api.events(t, "github", source); len(evs) != 1 {
			t.Fatalf("a wrong signature created an event: %+v", evs)
		}
	})

	t.Run("Cron", func(t *testing.T) {
		const source = "brigade.sh/cron"
		api.project(t, "cron", core.EventSubscription{Source: source, Types: []string{"tick"}})
		token := api.serviceAccount(t, "cron-gateway", true, source)
		file := filepath.Join(t.TempDir(), "cron.yaml")
		schedules := "schedules:\n- name: every-second\n  schedule: \"@every 1s\"\n  concurrencyPolicy: Allow\n" +
			"  event:\n    projectID: cron\n    type: tick\n"
		if err := os.WriteFile(file, []byte(schedules), 0o644); err != nil {
			t.Fatal(err)
		}
		gw := startGateway(t, bin, "cron", "--api-address", api.addr, "--api-token", token, "--cron-file", file)
		var evs []core.Event
		waitFor(t, "an event of the cron gateway", func() bool {
			evs = api.events(t, "cron", source)
			return len(evs) > 0
		})
		if evs[0].Type != "tick" || evs[0].Labels["cronSchedule"] != "every-second" {
			t.Fatalf("cron event %+v; the gateway's stderr:\n%s", evs[0], gw.stderr)
		}
	})

	t.Run("CloudEvents", func(t *testing.T) {
		const source = "brigade.sh/cloudevents"
		api.project(t, "orders", core.EventSubscription{Source: source, Types: []string{"cloudevent"},
			Qualifiers: map[string]string{"source": "example.com/orders", "type": "com.example.order.created"}})
		gwToken := api.serviceAccount(t, "ce-gateway", true)        // the gateway itself creates nothing
		sender := api.serviceAccount(t, "ce-sender", false, source) // the sender's token creates the events
		gw := startGateway(t, bin, "cloudevents", "--api-address", api.addr, "--api-token", gwToken)

		body := []byte(`{"specversion":"1.0","id":"order-1234","source":"example.com/orders",` +
			`"type":"com.example.order.created","data":{"order":1234}}`)
		h := http.Header{"Content-Type": {"application/cloudevents+json"}}
		if code, answer := gw.send(t, "/events", body, h); code != http.StatusForbidden {
			t.Fatalf("without a token: %d %s", code, answer)
		}
		h.Set("Authorization", "Bearer "+sender)
		code, answer := gw.send(t, "/events", body, h)
		if code != http.StatusOK || !strings.Contains(answer, `"eventIDs":["`) {
			t.Fatalf("structured CloudEvent: %d %s; the gateway's stderr:\n%s", code, answer, gw.stderr)
		}
		evs := api.events(t, "orders", source)
		if len(evs) != 1 || evs[0].Type != "cloudevent" || evs[0].Qualifiers["source"] != "example.com/orders" ||
			!strings.Contains(evs[0].Payload, `"id":"order-1234"`) || !strings.Contains(answer, evs[0].Metadata.ID) {
			t.Fatalf("events of project orders: %+v\nanswer: %s", evs, answer)
		}
	})

	t.Run("Generic", func(t *testing.T) {
		const source, secret = "brigade.sh/generic", "a-long-generic-gateway-secret"
		api.project(t, "generic", core.EventSubscription{Source: source, Types: []string{"simpleevent"}})
		if err := api.root.SetSecret(t.Context(), "generic", core.Secret{Key: "genericGatewaySecret", Value: secret}); err != nil {
			t.Fatal(err)
		}
		token := api.serviceAccount(t, "generic-gateway", true, source)
		gw := startGateway(t, bin, "generic", "--api-address", api.addr, "--api-token", token)

		if code, answer := gw.send(t, "/simpleevents/v1/generic/wrong-secret", []byte(`{}`), http.Header{}); code != http.StatusUnauthorized {
			t.Fatalf("a wrong secret: %d %s", code, answer)
		}
		code, answer := gw.send(t, "/simpleevents/v1/generic/"+secret, []byte(`{"who":"you"}`), http.Header{})
		if code != http.StatusOK || !strings.Contains(answer, `"eventIDs":["`) {
			t.Fatalf("simple event: %d %s; the gateway's stderr:\n%s", code, answer, gw.stderr)
		}
		evs := api.events(t, "generic", source)
		if len(evs) != 1 || evs[0].Type != "simpleevent" || evs[0].Payload != `{"who":"you"}` || !strings.Contains(answer, evs[0].Metadata.ID) {
			t.Fatalf("events of project generic: %+v\nanswer: %s", evs, answer)
		}
		if strings.Contains(gw.stderr.String(), secret) {
			t.Errorf("the gateway logged the secret:\n%s", gw.stderr)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"nope", "--api-address", api.addr, "--api-token", "x"}, `no gateway is called "nope": choose one of `},
			{[]string{"github", "--api-address", api.addr, "--github-webhook-secret", "s"}, "--api-address and --api-token are required"},
			{[]string{"cron", "--api-address", api.addr, "--api-token", "x"}, "the cron gateway needs --cron-file"},
		} {
			cmd := exec.Command(bin, append([]string{"gateway", "--addr", "127.0.0.1:0"}, c.args...)...)
			cmd.Env = environWithoutBrigade()
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(string(out), c.want) {
				t.Errorf("brigade gateway %s: %v\n%s\nwant it to say %q", strings.Join(c.args, " "), err, out, c.want)
			}
			if c.args[0] == "nope" {
				for _, name := range []string{"github", "cloudevents", "generic", "cron"} {
					if !strings.Contains(string(out), name) {
						t.Errorf("brigade gateway nope does not name %s:\n%s", name, out)
					}
				}
			}
		}
	})
}
