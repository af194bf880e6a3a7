package idp

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// OIDCConfig configures an OpenID Connect provider.
type OIDCConfig struct {
	// IssuerURL is the provider's issuer: its discovery document is at
	// IssuerURL + "/.well-known/openid-configuration".
	IssuerURL    string
	ClientID     string
	ClientSecret string
	// RedirectURL is the server's callback, as registered with the
	// provider (Brigade's: <base>/v2/session/auth).
	RedirectURL string
	// Client talks to the provider (default: 15 s timeout).
	Client *http.Client
	// Now reads the clock (tests move it).
	Now func() time.Time
}

// OIDC is an OpenID Connect provider. Its discovery document and keys are
// fetched on first use and the keys again when a token names one it lacks
// (at most once a minute), so a provider may start after the server and
// rotate its keys.
type OIDC struct {
	cfg OIDCConfig

	mu        sync.Mutex
	meta      *oidcMeta
	keys      map[string]crypto.PublicKey
	keysFetch time.Time
}

type oidcMeta struct {
	Issuer        string   `json:"issuer"`
	AuthEndpoint  string   `json:"authorization_endpoint"`
	TokenEndpoint string   `json:"token_endpoint"`
	JWKSURI       string   `json:"jwks_uri"`
	Methods       []string `json:"token_endpoint_auth_methods_supported"`
}

// NewOIDC checks the configuration; nothing is fetched yet.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if cfg.IssuerURL == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, fmt.Errorf("OpenID Connect needs an issuer URL, a client id and a redirect URL")
	}
	for name, raw := range map[string]string{"issuer URL": cfg.IssuerURL, "redirect URL": cfg.RedirectURL} {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("OpenID Connect %s %q must be an absolute http(s) URL", name, raw)
		}
	}
	if cfg.Client == nil {
		cfg.Client = httpClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.IssuerURL = strings.TrimRight(cfg.IssuerURL, "/")
	return &OIDC{cfg: cfg}, nil
}

// Name implements Provider.
func (*OIDC) Name() string { return "oidc" }

// AuthURL implements Provider: the code flow with PKCE (S256) and a nonce,
// asking for the scopes Brigade asked for.
func (o *OIDC) AuthURL(ctx context.Context, l Login) (string, error) {
	m, err := o.metadata(ctx)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(m.AuthEndpoint)
	if err != nil {
		return "", fmt.Errorf("the provider's authorization endpoint %q: %w", m.AuthEndpoint, err)
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", o.cfg.ClientID)
	q.Set("redirect_uri", o.cfg.RedirectURL)
	q.Set("scope", "openid profile email")
	q.Set("state", l.State)
	q.Set("nonce", l.Nonce)
	q.Set("code_challenge", challenge(l.Verifier))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Exchange implements Provider: it trades the code for tokens, verifies
// the ID token and returns its e-mail address and name.
func (o *OIDC) Exchange(ctx context.Context, l Login, code string) (Identity, error) {
	m, err := o.metadata(ctx)
	if err != nil {
		return Identity{}, err
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {o.cfg.RedirectURL},
		"code_verifier": {l.Verifier},
	}
	// client_secret_basic unless the provider takes only client_secret_post.
	basic := len(m.Methods) == 0 || contains(m.Methods, "client_secret_basic") || !contains(m.Methods, "client_secret_post")
	if !basic {
		form.Set("client_id", o.cfg.ClientID)
		form.Set("client_secret", o.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Identity{}, err
	}
	if basic {
		req.SetBasicAuth(url.QueryEscape(o.cfg.ClientID), url.QueryEscape(o.cfg.ClientSecret))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := o.cfg.Client.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("reaching the provider's token endpoint: %w", err)
	}
	body, err := readBody(resp)
	if err != nil {
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized {
			return Identity{}, refuse("the provider refused the login's code: %s", snippet(body))
		}
		return Identity{}, err
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.IDToken == "" {
		return Identity{}, fmt.Errorf("the provider's token answer has no id_token (is the openid scope allowed for this client?)")
	}
	claims, err := o.verify(ctx, tok.IDToken, l.Nonce)
	if err != nil {
		return Identity{}, err
	}
	if claims.Email == "" {
		return Identity{}, refuse("the provider did not say the account's e-mail address, which is its id here: allow the email scope for this client")
	}
	if claims.EmailVerified != nil && !*claims.EmailVerified {
		return Identity{}, refuse("the account's e-mail address %s is not verified with the provider", claims.Email)
	}
	return Identity{ID: claims.Email, Name: claims.Name}, nil
}

// verify checks an ID token, fetching the keys again once if it names one
// the cached set lacks.
func (o *OIDC) verify(ctx context.Context, token, nonce string) (*idClaims, error) {
	for attempt := 0; ; attempt++ {
		keys, err := o.keySet(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		c, err := verifyIDToken(token, keys, o.issuer(), o.cfg.ClientID, nonce, o.cfg.Now())
		if err == errUnknownKey && attempt == 0 {
			continue
		}
		return c, err
	}
}

func (o *OIDC) issuer() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.meta.Issuer
}

// metadata fetches (once) the provider's discovery document.
func (o *OIDC) metadata(ctx context.Context) (*oidcMeta, error) {
	o.mu.Lock()
	m := o.meta
	o.mu.Unlock()
	if m != nil {
		return m, nil
	}
	var got oidcMeta
	where := o.cfg.IssuerURL + "/.well-known/openid-configuration"
	if err := o.getJSON(ctx, where, &got); err != nil {
		return nil, fmt.Errorf("reading the OpenID Connect provider's configuration: %w", err)
	}
	if strings.TrimRight(got.Issuer, "/") != o.cfg.IssuerURL {
		return nil, fmt.Errorf("the provider at %s calls itself %q: configure that issuer URL", where, got.Issuer)
	}
	if got.AuthEndpoint == "" || got.TokenEndpoint == "" || got.JWKSURI == "" {
		return nil, fmt.Errorf("the provider's configuration at %s lacks an authorization, token or jwks_uri endpoint", where)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.meta == nil {
		o.meta = &got
	}
	return o.meta, nil
}

// keySet returns the provider's signing keys, fetching them when absent,
// or when refresh asks and the last fetch is over a minute old.
func (o *OIDC) keySet(ctx context.Context, refresh bool) (map[string]crypto.PublicKey, error) {
	o.mu.Lock()
	keys, last, uri := o.keys, o.keysFetch, o.meta.JWKSURI
	o.mu.Unlock()
	if keys != nil && (!refresh || o.cfg.Now().Sub(last) < time.Minute) {
		return keys, nil
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := o.getJSON(ctx, uri, &set); err != nil {
		return nil, fmt.Errorf("reading the provider's signing keys: %w", err)
	}
	keys = make(map[string]crypto.PublicKey, len(set.Keys))
	for i, k := range set.Keys {
		pub, err := k.publicKey()
		if err != nil {
			return nil, fmt.Errorf("the provider's signing keys: %w", err)
		}
		if pub == nil {
			continue
		}
		id := k.Kid
		if id == "" {
			id = fmt.Sprintf("#%d", i) // tokens without a kid try every key
		}
		keys[id] = pub
	}
	o.mu.Lock()
	o.keys, o.keysFetch = keys, o.cfg.Now()
	o.mu.Unlock()
	return keys, nil
}

func (o *OIDC) getJSON(ctx context.Context, where string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	b, err := readBody(resp)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s answered something that is not the expected JSON: %v", where, err)
	}
	return nil
}
