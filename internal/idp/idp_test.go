package idp_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/idp"
	"github.com/brigadeplatform/brigade/internal/idp/idptest"
)

const redirect = "http://brigade.test/v2/session/auth"

// login runs a whole login: the browser follows the auth URL to the
// provider, which sends it back with a code, and the server exchanges it.
func login(t *testing.T, p idp.Provider, start, finish idp.Login) (idp.Identity, error) {
	t.Helper()
	ctx := context.Background()
	u, err := p.AuthURL(ctx, start)
	if err != nil {
		t.Fatalf("AuthURL: %v", err)
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatalf("following the auth URL: %v", err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), redirect) {
		t.Fatalf("the provider sent the browser to %q (status %s), not to the callback", resp.Header.Get("Location"), resp.Status)
	}
	if back.Query().Get("state") != start.State {
		t.Fatalf("the callback's state is %q, want %q", back.Query().Get("state"), start.State)
	}
	return p.Exchange(ctx, finish, back.Query().Get("code"))
}

func newOIDC(t *testing.T, prov *idptest.Provider, now func() time.Time) *idp.OIDC {
	t.Helper()
	o, err := idp.NewOIDC(idp.OIDCConfig{IssuerURL: prov.URL, ClientID: prov.ClientID, ClientSecret: prov.ClientSecret,
		RedirectURL: redirect, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOIDCLogin(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			prov := idptest.Start(t, idptest.Account{Email: "ada@example.com", Name: "Ada Lovelace"})
			prov.SignWith = alg
			o := newOIDC(t, prov, nil)
			l := idp.Derive([]byte("server key"), "state-1")
			id, err := login(t, o, l, l)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if id != (idp.Identity{ID: "ada@example.com", Name: "Ada Lovelace"}) {
				t.Errorf("identity %+v", id)
			}
		})
	}
}

// TestOIDCRefusals: every way a login can be wrong is refused, as an
// *idp.Error the server shows the person, and nothing gets through.
func TestOIDCRefusals(t *testing.T) {
	no := false
	cases := map[string]struct {
		account idptest.Account
		tamper  func(h, c map[string]any)
		sign    string
		finish  func(l idp.Login) idp.Login // the server's half of the login
		now     func() time.Time
		want    string
	}{
		"another login's verifier": {finish: func(l idp.Login) idp.Login {
			return idp.Derive([]byte("server key"), "another state")
		}, want: "refused the login's code"},
		"another login's nonce":        {finish: func(l idp.Login) idp.Login { l.Nonce = "x"; return l }, want: "nonce"},
		"alg none":                     {tamper: func(h, c map[string]any) { h["alg"] = "none" }, want: `signed with "none"`},
		"alg HS256":                    {tamper: func(h, c map[string]any) { h["alg"] = "HS256" }, want: `signed with "HS256"`},
		"claims changed after signing": {sign: "swap", want: "does not verify"},
		"unknown key":                  {tamper: func(h, c map[string]any) { h["kid"] = "gone" }, want: "does not publish"},
		"other issuer":                 {tamper: func(h, c map[string]any) { c["iss"] = "https://evil.example" }, want: "issued by"},
		"other audience":               {tamper: func(h, c map[string]any) { c["aud"] = []string{"someone-else"} }, want: "meant for"},
		"expired":                      {now: func() time.Time { return time.Now().Add(2 * time.Hour) }, want: "expired"},
		"not yet valid": {tamper: func(h, c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() },
			want: "not valid before"},
		"critical extension": {tamper: func(h, c map[string]any) { h["crit"] = []string{"x"} }, want: "critical"},
		"no e-mail":          {account: idptest.Account{Name: "Nobody"}, want: "e-mail address"},
		"unverified e-mail":  {account: idptest.Account{Email: "eve@example.com", EmailVerified: &no}, want: "not verified"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			acct := tc.account
			if acct == (idptest.Account{}) {
				acct = idptest.Account{Email: "ada@example.com", Name: "Ada"}
			}
			prov := idptest.Start(t, acct)
			prov.Tamper = tc.tamper
			if tc.sign == "swap" {
				// The payload is replaced after signing: it names another
				// account under the first one's signature.
				prov.Mangle = func(jws string) string {
					parts := strings.Split(jws, ".")
					evil, _ := json.Marshal(map[string]any{"iss": prov.URL, "aud": prov.ClientID, "email": "mallory@example.com",
						"exp": time.Now().Add(time.Hour).Unix()})
					parts[1] = base64.RawURLEncoding.EncodeToString(evil)
					return strings.Join(parts, ".")
				}
			}
			o := newOIDC(t, prov, tc.now)
			start := idp.Derive([]byte("server key"), "state-1")
			finish := start
			if tc.finish != nil {
				finish = tc.finish(start)
			}
			id, err := login(t, o, start, finish)
			checkRefused(t, id, err, tc.want)
		})
	}
}

func checkRefused(t *testing.T, id idp.Identity, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("logged in as %+v", id)
	}
	if !idp.IsRefusal(err) {
		t.Errorf("error %q is not a refusal", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestOIDCDiscoveryMustNameTheIssuer(t *testing.T) {
	prov := idptest.Start(t, idptest.Account{Email: "a@b.c"})
	o, err := idp.NewOIDC(idp.OIDCConfig{IssuerURL: prov.URL + "/other", ClientID: "brigade", RedirectURL: redirect})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.AuthURL(context.Background(), idp.Derive(nil, "s")); err == nil {
		t.Fatal("a provider whose discovery is missing or names another issuer was accepted")
	}
	for _, cfg := range []idp.OIDCConfig{
		{ClientID: "c", RedirectURL: redirect},
		{IssuerURL: "not a url", ClientID: "c", RedirectURL: redirect},
		{IssuerURL: prov.URL, ClientID: "c", RedirectURL: "/relative"},
	} {
		if _, err := idp.NewOIDC(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func TestDerive(t *testing.T) {
	a, b := idp.Derive([]byte("k"), "s1"), idp.Derive([]byte("k"), "s1")
	if a != b {
		t.Error("Derive is not deterministic")
	}
	if c := idp.Derive([]byte("k"), "s2"); c.Verifier == a.Verifier || c.Nonce == a.Nonce {
		t.Error("two states share a verifier or nonce")
	}
	if d := idp.Derive([]byte("other"), "s1"); d.Verifier == a.Verifier {
		t.Error("the key does not change the verifier")
	}
	if len(a.Verifier) < 43 || a.Verifier == a.Nonce {
		t.Errorf("verifier %q (RFC 7636 wants 43 to 128 characters), nonce %q", a.Verifier, a.Nonce)
	}
}
