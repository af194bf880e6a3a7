// Package github is the GitHub gateway: it turns signed GitHub webhook
// deliveries (repository and organization webhooks, and GitHub Apps) into
// Brigade events of source brigade.sh/github, and, for the Apps whose
// private key it holds, reports each job of the events it tracks as a
// check run on the commit (docs/gateways.md, "GitHub").
package github

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/brigadeplatform/brigade/internal/gateway"
)

// Source is the event source of every event the gateway creates.
const Source = "brigade.sh/github"

// Defaults of the configuration.
const (
	// DefaultMaxBodyBytes is GitHub's own cap on a webhook payload.
	DefaultMaxBodyBytes = 25 << 20
	DefaultAPIURL       = "https://api.github.com"
	// DefaultReportInterval is how often tracked events are looked at.
	DefaultReportInterval = 10 * time.Second
)

// Config is the GitHub gateway's configuration. The gateway is off when
// neither WebhookSecret nor AppsFile is set.
type Config struct {
	// WebhookSecret verifies deliveries of repository and organization
	// webhooks (any delivery that does not come from a GitHub App).
	WebhookSecret string
	// AppsFile is a JSON array of GitHub Apps: [{"appID":123,
	// "sharedSecret":"...","apiKey":"-----BEGIN RSA PRIVATE KEY-----..."}].
	AppsFile string
	// AllowSHA1 accepts a delivery signed only with the legacy
	// X-Hub-Signature (HMAC-SHA1).
	AllowSHA1 bool
	// MaxBodyBytes bounds a delivery (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// APIURL is the GitHub API the Apps are reported through
	// (0: DefaultAPIURL); GitHub Enterprise's is https://HOST/api/v3.
	APIURL string
	// ReportInterval is how often the events whose jobs are reported as
	// check runs are looked at (0: DefaultReportInterval).
	ReportInterval time.Duration
	// FallibleNeutral reports a fallible job's failure as a neutral check
	// run rather than a failed one.
	FallibleNeutral bool
	// CheckSuiteAuthors are the author associations (OWNER, MEMBER, ...)
	// whose fork pull requests and "/brig check" comments make the gateway
	// ask GitHub for a check suite (App mode only; empty: nobody's).
	CheckSuiteAuthors []string
}

// Flags registers the gateway's flags on f.
func (c *Config) Flags(f *pflag.FlagSet) {
	f.StringVar(&c.WebhookSecret, "github-webhook-secret", "",
		"GitHub gateway: the secret of repository and organization webhooks (turns the gateway on)")
	f.StringVar(&c.AppsFile, "github-apps-file", "",
		`GitHub gateway: a JSON file of GitHub Apps, [{"appID":1,"sharedSecret":"...","apiKey":"PEM"}] (turns the gateway on)`)
	f.BoolVar(&c.AllowSHA1, "github-allow-sha1", false,
		"GitHub gateway: also accept deliveries signed only with the legacy X-Hub-Signature (SHA-1)")
	f.Int64Var(&c.MaxBodyBytes, "github-webhook-max-bytes", DefaultMaxBodyBytes,
		"GitHub gateway: the largest delivery accepted, in bytes (beyond it: 413)")
	f.StringVar(&c.APIURL, "github-app-api-url", DefaultAPIURL,
		"GitHub gateway: the GitHub API its Apps report check runs through (GitHub Enterprise: https://HOST/api/v3)")
	f.DurationVar(&c.ReportInterval, "github-report-interval", DefaultReportInterval,
		"GitHub gateway: how often the jobs of tracked events are reported as check runs")
	f.BoolVar(&c.FallibleNeutral, "github-fallible-neutral", false,
		"GitHub gateway: report the failure of a fallible job as a neutral check run")
	f.StringSliceVar(&c.CheckSuiteAuthors, "github-check-suite-authors", []string{"OWNER", "MEMBER", "COLLABORATOR"},
		"GitHub gateway: author associations whose fork pull requests and '/brig check' comments get a check suite")
}

// App is one GitHub App the gateway serves.
type App struct {
	ID           int64
	SharedSecret string
	// Key is the App's private key; nil when the file gives none, and
	// then the App's jobs are not reported.
	Key *rsa.PrivateKey
}

// appEntry is an entry of the apps file.
type appEntry struct {
	AppID        json.Number `json:"appID"`
	SharedSecret string      `json:"sharedSecret"`
	APIKey       string      `json:"apiKey"`
}

// loadApps reads the apps file.
func loadApps(path string) (map[int64]*App, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--github-apps-file: %w", err)
	}
	var entries []appEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf(`--github-apps-file %s: %w (want a JSON array [{"appID":1,"sharedSecret":"...","apiKey":"PEM"}])`, path, err)
	}
	apps := make(map[int64]*App, len(entries))
	for i, e := range entries {
		id, err := strconv.ParseInt(e.AppID.String(), 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("--github-apps-file %s: entry %d: appID %q is not a GitHub App ID (a positive number)", path, i, e.AppID)
		}
		if apps[id] != nil {
			return nil, fmt.Errorf("--github-apps-file %s: App %d is listed twice", path, id)
		}
		if e.SharedSecret == "" {
			return nil, fmt.Errorf("--github-apps-file %s: App %d has no sharedSecret (its webhook secret)", path, id)
		}
		app := &App{ID: id, SharedSecret: e.SharedSecret}
		if e.APIKey != "" {
			if app.Key, err = parseKey([]byte(e.APIKey)); err != nil {
				return nil, fmt.Errorf("--github-apps-file %s: App %d: apiKey: %w", path, id, err)
			}
		}
		apps[id] = app
	}
	return apps, nil
}

// parseKey reads an RSA private key in PEM, PKCS #1 (as GitHub hands it
// out) or PKCS #8.
func parseKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not a PEM block (want the App's private key as GitHub gives it, -----BEGIN RSA PRIVATE KEY-----...)")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not an RSA private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA private key")
	}
	return rk, nil
}

// Build makes the gateway, or nil when the configuration leaves it off.
func (c *Config) Build(env gateway.Env) (gateway.Gateway, error) {
	if c.WebhookSecret == "" && c.AppsFile == "" {
		return nil, nil
	}
	if c.MaxBodyBytes < 0 || c.ReportInterval < 0 {
		return nil, errors.New("--github-webhook-max-bytes and --github-report-interval cannot be negative")
	}
	if c.APIURL != "" && !strings.HasPrefix(c.APIURL, "https://") && !strings.HasPrefix(c.APIURL, "http://") {
		return nil, fmt.Errorf("--github-app-api-url %q: give the API's address with its scheme, e.g. https://api.github.com", c.APIURL)
	}
	g := &Gateway{cfg: *c, env: env}
	if g.cfg.MaxBodyBytes == 0 {
		g.cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if g.cfg.APIURL == "" {
		g.cfg.APIURL = DefaultAPIURL
	}
	if g.cfg.ReportInterval == 0 {
		g.cfg.ReportInterval = DefaultReportInterval
	}
	if c.AppsFile != "" {
		apps, err := loadApps(c.AppsFile)
		if err != nil {
			return nil, err
		}
		g.apps = apps
	}
	g.gh = newGitHubAPI(g.cfg.APIURL, g.apps)
	g.forwards = make(chan checkSuiteRequest, forwardQueue)
	return g, nil
}
