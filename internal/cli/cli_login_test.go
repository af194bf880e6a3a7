package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/idp/idptest"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// TestLoginWithAnIdentityProvider: `brig login --browse` prints the
// provider's address and opens it; once the browser has been through the
// provider and back, the saved token is the person's.
func TestLoginWithAnIdentityProvider(t *testing.T) {
	prov := idptest.Start(t, idptest.Account{Email: "ada@example.com", Name: "Ada Lovelace"})
	srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: testRootPassword,
		Login: server.LoginConfig{OIDCIssuerURL: prov.URL, OIDCClientID: prov.ClientID, OIDCClientSecret: prov.ClientSecret}})
	addr := "http://" + srv.Addr()
	cfgPath := filepath.Join(t.TempDir(), "config")
	env := map[string]string{envConfig: cfgPath}

	var opened []string
	var out, errOut bytes.Buffer
	code := Run(context.Background(), Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return env[k] }, Now: time.Now,
		OpenBrowser: func(u string) error {
			opened = append(opened, u)
			resp, err := http.Get(u) // the browser: to the provider, back to the server, to its page
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "You are logged in") {
				t.Errorf("the browser ended with %s: %s", resp.Status, body)
			}
			return nil
		},
	}, []string{"login", "-s", addr, "--browse"})
	if code != 0 {
		t.Fatalf("brig login: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if len(opened) != 1 || !strings.Contains(out.String(), opened[0]) || !strings.HasPrefix(opened[0], prov.URL+"/authorize?") {
		t.Fatalf("opened %q; brig said:\n%s", opened, out.String())
	}
	a := &app{env: Env{Getenv: func(k string) string { return env[k] }}}
	cfg, _, err := a.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	me, err := client.New(addr, cfg.Token).WhoAmI(t.Context())
	if err != nil {
		t.Fatalf("whoami with the saved token: %v", err)
	}
	if me.Type != "USER" || me.ID != "ada@example.com" {
		t.Errorf("whoami: %+v", me)
	}
}

// TestLoginWithoutAnIdentityProvider says what to do instead.
func TestLoginWithoutAnIdentityProvider(t *testing.T) {
	_, addr := startServer(t)
	env := map[string]string{envConfig: filepath.Join(t.TempDir(), "config")}
	stderr := brigFails(t, env, "", "login", "-s", addr)
	if !strings.Contains(stderr, "brig login --root") {
		t.Errorf("stderr: %q", stderr)
	}
}
