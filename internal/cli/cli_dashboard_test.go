package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// TestDashboard: `brig dashboard` opens an address that signs the browser
// in once, with no token of the CLI's in it; without a browser it prints
// the address instead.
func TestDashboard(t *testing.T) {
	srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: testRootPassword})
	c, err := testenv.RootClient(t.Context(), srv, testRootPassword)
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + srv.Addr()
	env := map[string]string{envServer: addr, envToken: c.Token(), envConfig: t.TempDir() + "/config"}
	run := func(open func(string) error, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
			Getenv: func(k string) string { return env[k] }, Now: time.Now, OpenBrowser: open}, append([]string{"dashboard"}, args...))
		return code, out.String(), errOut.String()
	}

	var opened string
	code, out, errOut := run(func(u string) error { opened = u; return nil }, "--event", "some-event")
	if code != 0 || !strings.HasPrefix(opened, addr+"/signin?code=") || strings.Contains(opened, c.Token()) {
		t.Fatalf("exit %d, opened %q\n%s%s", code, opened, out, errOut)
	}
	// The browser: the address signs it in and sends it to the event.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(opened)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/events/some-event") {
		t.Fatalf("signing in: %s\n%s", resp.Status, body)
	}
	resp, err = browser.Get(addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Signed in as <strong>root</strong>") {
		t.Fatalf("after signing in, / shows:\n%s", body)
	}

	code, out, errOut = run(func(string) error { return errors.New("no display") })
	if code != 0 || !strings.Contains(out, addr+"/signin?code=") || !strings.Contains(errOut, "no display") {
		t.Fatalf("without a browser: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = run(nil, "--project", "a", "--event", "b")
	if code == 0 || !strings.Contains(errOut, "give one of them") {
		t.Fatalf("two pages: exit %d\n%s", code, errOut)
	}
}
