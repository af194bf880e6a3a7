package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/idp"
)

// LoginConfig turns on third-party login for people, as Brigade offered:
// OpenID Connect with any standard provider, or GitHub OAuth.
type LoginConfig struct {
	OIDCIssuerURL    string
	OIDCClientID     string
	OIDCClientSecret string
	// RedirectURLBase is the server's address as the provider's callback
	// sees it (default: the API address); the callback is
	// <base>/v2/session/auth, registered with the provider.
	RedirectURLBase string

	GitHubClientID     string
	GitHubClientSecret string
	GitHubAllowedOrgs  []string // members of one of these only (default: anyone)
	// GitHubURL and GitHubAPIURL point at GitHub Enterprise (default
	// https://github.com and https://api.github.com).
	GitHubURL    string
	GitHubAPIURL string

	UserSessionTTL time.Duration // how long a person's login lasts (default 1h)

	// GrantReaderOnFirstLogin gives each new user READER; AdminUserIDs
	// get ADMIN, PROJECT_CREATOR and READER on their first login.
	GrantReaderOnFirstLogin bool
	AdminUserIDs            []string
}

func (c LoginConfig) oidc() bool   { return c.OIDCIssuerURL != "" || c.OIDCClientID != "" }
func (c LoginConfig) github() bool { return c.GitHubClientID != "" || c.GitHubClientSecret != "" }

// providerName names the third-party login for people ("" for none).
func (c LoginConfig) providerName() string {
	switch {
	case c.oidc():
		return "OpenID Connect"
	case c.github():
		return "GitHub"
	}
	return ""
}

func (c LoginConfig) validate() error {
	switch {
	case c.oidc() && c.github():
		return errors.New("configure OpenID Connect (--oidc-*) or GitHub (--github-*) login, not both")
	case c.oidc() && (c.OIDCIssuerURL == "" || c.OIDCClientID == ""):
		return errors.New("OpenID Connect login needs both --oidc-issuer-url and --oidc-client-id (and usually --oidc-client-secret)")
	case c.github() && (c.GitHubClientID == "" || c.GitHubClientSecret == ""):
		return errors.New("GitHub login needs both --github-client-id and --github-client-secret")
	case c.UserSessionTTL < 0 || (c.UserSessionTTL > 0 && c.UserSessionTTL < time.Minute):
		return fmt.Errorf("--user-session-ttl %s is too short: use a minute or more", c.UserSessionTTL)
	}
	return nil
}

// settingLoginKey is where the secret that third-party logins derive their
// PKCE verifiers and nonces from is kept: every server of one database
// shares it, so a callback may reach any of them.
const settingLoginKey = "login_key"

// configureLogin sets up the identity provider, if any, in the API's
// configuration.
func configureLogin(ctx context.Context, acfg *api.Config, c LoginConfig, apiAddr string, st core.Store) error {
	if !c.oidc() && !c.github() {
		return nil
	}
	var err error
	if c.oidc() {
		base := strings.TrimRight(c.RedirectURLBase, "/")
		if base == "" {
			base = strings.TrimRight(apiAddr, "/")
		}
		acfg.ThirdParty, err = idp.NewOIDC(idp.OIDCConfig{IssuerURL: c.OIDCIssuerURL, ClientID: c.OIDCClientID,
			ClientSecret: c.OIDCClientSecret, RedirectURL: base + "/v2/session/auth"})
	} else {
		acfg.ThirdParty, err = idp.NewGitHub(idp.GitHubConfig{ClientID: c.GitHubClientID, ClientSecret: c.GitHubClientSecret,
			AllowedOrgs: c.GitHubAllowedOrgs, WebURL: c.GitHubURL, APIURL: c.GitHubAPIURL})
	}
	if err != nil {
		return err
	}
	acfg.ThirdPartyAuth, acfg.UserSessionTTL = true, c.UserSessionTTL
	acfg.GrantReaderToNewUsers, acfg.AdminUserIDs = c.GrantReaderOnFirstLogin, c.AdminUserIDs
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	if _, err := st.Settings().SetIfAbsent(ctx, settingLoginKey, hex.EncodeToString(b)); err != nil {
		return fmt.Errorf("storing the login key: %w", err)
	}
	key, _, err := st.Settings().Get(ctx, settingLoginKey)
	if err != nil {
		return fmt.Errorf("reading the login key: %w", err)
	}
	acfg.LoginKey, err = hex.DecodeString(key)
	if err != nil || len(acfg.LoginKey) < 16 {
		return fmt.Errorf("the stored login key is damaged: delete the %q setting to make a new one", settingLoginKey)
	}
	return nil
}
