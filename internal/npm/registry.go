package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Size limits of what the worker downloads: a package document (every
// version of a package; big ones reach tens of MB) and a tarball.
const (
	maxPackumentBytes = 128 << 20
	maxTarballBytes   = 128 << 20
)

// manifest is one version of a package as the registry describes it.
type manifest struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Deprecated           any               `json:"deprecated"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	PeerDependenciesMeta map[string]struct {
		Optional bool `json:"optional"`
	} `json:"peerDependenciesMeta"`
	BundleDependencies  any      `json:"bundleDependencies"`
	BundledDependencies any      `json:"bundledDependencies"`
	OS                  []string `json:"os"`
	CPU                 []string `json:"cpu"`
	Dist                struct {
		Tarball   string `json:"tarball"`
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
	} `json:"dist"`
}

// bundled lists the dependencies that come inside the tarball.
func (m *manifest) bundled() map[string]bool {
	out := map[string]bool{}
	for _, b := range []any{m.BundleDependencies, m.BundledDependencies} {
		switch v := b.(type) {
		case bool:
			if v {
				for n := range m.Dependencies {
					out[n] = true
				}
			}
		case []any:
			for _, n := range v {
				if s, ok := n.(string); ok {
					out[s] = true
				}
			}
		}
	}
	return out
}

// packument is a package's document: all its versions and dist-tags.
type packument struct {
	Name     string               `json:"name"`
	DistTags map[string]string    `json:"dist-tags"`
	Versions map[string]*manifest `json:"versions"`
}

// registry fetches package documents and tarballs over HTTP.
type registry struct {
	cfg    Config
	client *http.Client

	mu    sync.Mutex
	docs  map[string]*packument // by URL, for one install
	fetch map[string]*sync.Mutex
}

func newRegistry(cfg Config, client *http.Client) *registry {
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport}
	}
	return &registry{cfg: cfg, client: client, docs: map[string]*packument{}, fetch: map[string]*sync.Mutex{}}
}

// escapeName is a package name as a registry path: "@s/n" → "@s%2fn".
func escapeName(name string) string {
	if strings.HasPrefix(name, "@") {
		return "@" + url.PathEscape(name[1:])
	}
	return url.PathEscape(name)
}

// packument fetches a package's document (the abbreviated form, which
// holds what installing needs), once per install.
func (r *registry) packument(ctx context.Context, name string) (*packument, error) {
	u := r.cfg.registryFor(name) + escapeName(name)
	r.mu.Lock()
	if d := r.docs[u]; d != nil {
		r.mu.Unlock()
		return d, nil
	}
	m := r.fetch[u]
	if m == nil {
		m = &sync.Mutex{}
		r.fetch[u] = m
	}
	r.mu.Unlock()
	m.Lock() // one fetch of a document at a time
	defer m.Unlock()
	r.mu.Lock()
	d := r.docs[u]
	r.mu.Unlock()
	if d != nil {
		return d, nil
	}
	body, err := r.get(ctx, u, "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8", maxPackumentBytes)
	if err != nil {
		return nil, err
	}
	d = &packument{}
	if err := json.Unmarshal(body, d); err != nil {
		return nil, fmt.Errorf("the registry's document for %s (%s) is not valid JSON: %w", name, u, err)
	}
	r.mu.Lock()
	r.docs[u] = d
	r.mu.Unlock()
	return d, nil
}

// tarballURL is where a tarball is fetched from: resolved, with the public
// registry's host replaced by the configured registry (as npm does, so a
// lockfile made against the public registry works behind a mirror), or
// the registry's usual path when the lockfile recorded none.
func (r *registry) tarballURL(name, version, resolved string) string {
	reg := r.cfg.registryFor(name)
	if resolved == "" {
		base := name
		if i := strings.LastIndex(name, "/"); i >= 0 {
			base = name[i+1:]
		}
		return reg + name + "/-/" + base + "-" + version + ".tgz"
	}
	for _, public := range []string{"https://registry.npmjs.org/", "https://registry.yarnpkg.com/"} {
		if strings.HasPrefix(resolved, public) && reg != public {
			return reg + strings.TrimPrefix(resolved, public)
		}
	}
	return resolved
}

// tarball downloads a tarball.
func (r *registry) tarball(ctx context.Context, u string) ([]byte, error) {
	if i := strings.Index(u, "#"); i >= 0 {
		u = u[:i] // yarn's "#sha1" suffix
	}
	return r.get(ctx, u, "*/*", maxTarballBytes)
}

// errNotFound is a 404 from the registry.
var errNotFound = errors.New("not found")

// get fetches a URL with the credentials .npmrc has for it, up to limit
// bytes; it tries again twice after a network error or a 5xx/429.
func (r *registry) get(ctx context.Context, u, accept string, limit int64) ([]byte, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		body, retry, err := r.getOnce(ctx, u, accept, limit)
		if err == nil {
			return body, nil
		}
		lastErr = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (r *registry) getOnce(ctx context.Context, u, accept string, limit int64) ([]byte, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "brigade-worker (Go)")
	if a := r.cfg.authFor(u); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, true, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, false, fmt.Errorf("GET %s: 404 %w", u, errNotFound)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, false, fmt.Errorf("GET %s: %s (set a token for this registry in the project's .npmrc: //host/path/:_authToken=...)", u, resp.Status)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, true, fmt.Errorf("GET %s: %s", u, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, false, fmt.Errorf("GET %s: %d bytes is more than the limit of %d MiB", u, resp.ContentLength, limit>>20)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, true, fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(body)) > limit {
		return nil, false, fmt.Errorf("GET %s: more than the limit of %d MiB", u, limit>>20)
	}
	return body, false, nil
}
