package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// GitHubConfig configures GitHub OAuth.
type GitHubConfig struct {
	ClientID     string
	ClientSecret string
	// AllowedOrgs, when set, admits only members of one of these
	// organisations (compared without regard to case).
	AllowedOrgs []string
	// WebURL and APIURL are GitHub's (default https://github.com and
	// https://api.github.com); GitHub Enterprise and tests set their own.
	WebURL string
	APIURL string
	// Client talks to GitHub (default: 15 s timeout).
	Client *http.Client
}

// GitHub is GitHub OAuth, as Brigade offered it: the user id is the
// GitHub login.
type GitHub struct{ cfg GitHubConfig }

// NewGitHub checks the configuration.
func NewGitHub(cfg GitHubConfig) (*GitHub, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, fmt.Errorf("GitHub login needs the OAuth app's client id and client secret")
	}
	if cfg.WebURL == "" {
		cfg.WebURL = "https://github.com"
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.github.com"
	}
	cfg.WebURL, cfg.APIURL = strings.TrimRight(cfg.WebURL, "/"), strings.TrimRight(cfg.APIURL, "/")
	if cfg.Client == nil {
		cfg.Client = httpClient
	}
	return &GitHub{cfg: cfg}, nil
}

// Name implements Provider.
func (*GitHub) Name() string { return "github" }

// AuthURL implements Provider. read:org lets the server check the
// organisations of the user; PKCE is sent too (GitHub honours it).
func (g *GitHub) AuthURL(_ context.Context, l Login) (string, error) {
	q := url.Values{
		"client_id":             {g.cfg.ClientID},
		"state":                 {l.State},
		"scope":                 {"read:org"},
		"code_challenge":        {challenge(l.Verifier)},
		"code_challenge_method": {"S256"},
	}
	return g.cfg.WebURL + "/login/oauth/authorize?" + q.Encode(), nil
}

// Exchange implements Provider.
func (g *GitHub) Exchange(ctx context.Context, l Login, code string) (Identity, error) {
	form := url.Values{
		"client_id": {g.cfg.ClientID}, "client_secret": {g.cfg.ClientSecret},
		"code": {code}, "code_verifier": {l.Verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.WebURL+"/login/oauth/access_token", strings.NewReader(form.Encode()))
	if err != nil {
		return Identity{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := g.do(req, &tok); err != nil {
		return Identity{}, err
	}
	if tok.Error != "" { // GitHub answers 200 with an error field
		return Identity{}, refuse("GitHub refused the login's code: %s (%s)", tok.Description, tok.Error)
	}
	if tok.AccessToken == "" {
		return Identity{}, fmt.Errorf("GitHub's token answer has no access_token")
	}
	var user struct {
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := g.api(ctx, tok.AccessToken, "/user", &user); err != nil {
		return Identity{}, err
	}
	if user.Login == "" {
		return Identity{}, fmt.Errorf("GitHub's /user answer has no login")
	}
	if len(g.cfg.AllowedOrgs) > 0 {
		var orgs []struct {
			Login string `json:"login"`
		}
		if err := g.api(ctx, tok.AccessToken, "/user/orgs?per_page=100", &orgs); err != nil {
			return Identity{}, err
		}
		member := false
		for _, o := range orgs {
			for _, allowed := range g.cfg.AllowedOrgs {
				member = member || strings.EqualFold(o.Login, allowed)
			}
		}
		if !member {
			return Identity{}, refuse("GitHub user %s is not a member of an organisation allowed here (%s)", user.Login, strings.Join(g.cfg.AllowedOrgs, ", "))
		}
	}
	name := user.Name
	if name == "" {
		name = user.Login
	}
	return Identity{ID: user.Login, Name: name}, nil
}

func (g *GitHub) api(ctx context.Context, token, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.cfg.APIURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	return g.do(req, into)
}

func (g *GitHub) do(req *http.Request, into any) error {
	resp, err := g.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("reaching GitHub: %w", err)
	}
	b, err := readBody(resp)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("GitHub answered something that is not the expected JSON: %v", err)
	}
	return nil
}
