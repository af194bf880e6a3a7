package github

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// githubAPI calls the GitHub API as the Apps' installations: it signs the
// App's JWT, trades it for an installation token, and keeps that token
// until shortly before it expires.
type githubAPI struct {
	base string
	http *http.Client
	now  func() time.Time

	mu     sync.Mutex
	tokens map[string]installationToken // by "appID/installationID"
}

type installationToken struct {
	value   string
	expires time.Time
}

func newGitHubAPI(base string, apps map[int64]*App) *githubAPI {
	for _, a := range apps {
		if a.Key != nil {
			return &githubAPI{base: strings.TrimSuffix(base, "/"), http: &http.Client{Timeout: 30 * time.Second},
				now: time.Now, tokens: map[string]installationToken{}}
		}
	}
	return nil // no App can be reported through the API
}

// appJWT is the App's own credential: an RS256 JSON Web Token issued by
// the App ID, valid for a few minutes.
func appJWT(app *App, now time.Time) (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, err := json.Marshal(map[string]any{
		"iat": now.Add(-time.Minute).Unix(), // GitHub's clock may be behind ours
		"exp": now.Add(5 * time.Minute).Unix(),
		"iss": strconv.FormatInt(app.ID, 10),
	})
	if err != nil {
		return "", err
	}
	signing := header + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, app.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing the JWT of GitHub App %d: %w", app.ID, err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// githubError is a reply of the GitHub API with an unexpected status.
type githubError struct {
	method, path string
	status       int
	body         string
}

func (e *githubError) Error() string {
	return fmt.Sprintf("GitHub API %s %s: %d %s", e.method, e.path, e.status, e.body)
}

// call sends one request to the GitHub API with credential cred (a
// "Bearer …" value) and decodes a JSON reply into out (may be nil).
func (g *githubAPI) call(ctx context.Context, method, path, cred string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", cred)
	req.Header.Set("User-Agent", "brigade-github-gateway")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return fmt.Errorf("GitHub API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &githubError{method: method, path: path, status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(out); err != nil {
		return fmt.Errorf("GitHub API %s %s: decoding the reply: %w", method, path, err)
	}
	return nil
}

// token returns an installation token of app, from the cache while it has
// more than a few minutes left.
func (g *githubAPI) token(ctx context.Context, app *App, installation string) (string, error) {
	k := strconv.FormatInt(app.ID, 10) + "/" + installation
	g.mu.Lock()
	t, ok := g.tokens[k]
	g.mu.Unlock()
	if ok && g.now().Add(5*time.Minute).Before(t.expires) {
		return t.value, nil
	}
	jwt, err := appJWT(app, g.now())
	if err != nil {
		return "", err
	}
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	path := "/app/installations/" + url.PathEscape(installation) + "/access_tokens"
	if err := g.call(ctx, http.MethodPost, path, "Bearer "+jwt, nil, &out, http.StatusCreated); err != nil {
		return "", err
	}
	g.mu.Lock()
	g.tokens[k] = installationToken{value: out.Token, expires: out.ExpiresAt}
	g.mu.Unlock()
	return out.Token, nil
}

// forget drops a cached token GitHub refused.
func (g *githubAPI) forget(app *App, installation string) {
	g.mu.Lock()
	delete(g.tokens, strconv.FormatInt(app.ID, 10)+"/"+installation)
	g.mu.Unlock()
}

// asInstallation calls the API with an installation token; a token GitHub
// no longer takes (401) is dropped and the call made once more with a
// fresh one.
func (g *githubAPI) asInstallation(ctx context.Context, app *App, installation, method, path string, in, out any, want int) error {
	for attempt := 0; ; attempt++ {
		tok, err := g.token(ctx, app, installation)
		if err != nil {
			return err
		}
		err = g.call(ctx, method, path, "Bearer "+tok, in, out, want)
		if ge, ok := errors.AsType[*githubError](err); ok && ge.status == http.StatusUnauthorized && attempt == 0 {
			g.forget(app, installation)
			continue
		}
		return err
	}
}

// checkRun is the body of a check run's creation or update.
type checkRun struct {
	Name        string          `json:"name,omitempty"`
	HeadSHA     string          `json:"head_sha,omitempty"`
	Status      string          `json:"status"`
	Conclusion  string          `json:"conclusion,omitempty"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	CompletedAt *time.Time      `json:"completed_at,omitempty"`
	Output      *checkRunOutput `json:"output,omitempty"`
}

type checkRunOutput struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
	Text    string `json:"text,omitempty"`
}

func repoPath(owner, repo string) string {
	return "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
}

// createCheckRun creates a check run and returns its ID.
func (g *githubAPI) createCheckRun(ctx context.Context, app *App, installation, owner, repo string, run *checkRun) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	err := g.asInstallation(ctx, app, installation, http.MethodPost, repoPath(owner, repo)+"/check-runs", run, &out, http.StatusCreated)
	return out.ID, err
}

// findCheckRun returns the ID of the App's latest check run called name on
// commit sha, or 0 when there is none.
func (g *githubAPI) findCheckRun(ctx context.Context, app *App, installation, owner, repo, sha, name string) (int64, error) {
	if !isHex(sha) || sha == "" {
		return 0, fmt.Errorf("head commit %q is not a commit SHA", sha)
	}
	var out struct {
		CheckRuns []struct {
			ID int64 `json:"id"`
		} `json:"check_runs"`
	}
	q := url.Values{"check_name": {name}, "app_id": {strconv.FormatInt(app.ID, 10)}, "filter": {"latest"}}
	path := repoPath(owner, repo) + "/commits/" + sha + "/check-runs?" + q.Encode()
	if err := g.asInstallation(ctx, app, installation, http.MethodGet, path, nil, &out, http.StatusOK); err != nil {
		return 0, err
	}
	if len(out.CheckRuns) == 0 {
		return 0, nil
	}
	return out.CheckRuns[0].ID, nil
}

// updateCheckRun updates check run id.
func (g *githubAPI) updateCheckRun(ctx context.Context, app *App, installation, owner, repo string, id string, run *checkRun) error {
	return g.asInstallation(ctx, app, installation, http.MethodPatch,
		repoPath(owner, repo)+"/check-runs/"+url.PathEscape(id), run, nil, http.StatusOK)
}
