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
// Old versions of some packages carry fields of other shapes (dependencies
// as an array, os as a string): those decode as empty rather than fail.
type manifest struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	Deprecated           any      `json:"deprecated"`
	Dependencies         depMap   `json:"dependencies"`
	OptionalDependencies depMap   `json:"optionalDependencies"`
	PeerDependencies     depMap   `json:"peerDependencies"`
	PeerDependenciesMeta peerMeta `json:"peerDependenciesMeta"`
	BundleDependencies   any      `json:"bundleDependencies"`
	BundledDependencies  any      `json:"bundledDependencies"`
	OS                   strList  `json:"os"`
	CPU                  strList  `json:"cpu"`
	Dist                 struct {
		Tarball   string `json:"tarball"`
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
	} `json:"dist"`
}

// depMap is name → spec; anything but a JSON object of strings is empty.
type depMap map[string]string

func (d *depMap) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		*d = nil
		return nil
	}
	*d = depMap{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			(*d)[k] = s
		}
	}
	return nil
}

// peerMeta is peerDependenciesMeta; a malformed one is empty.
type peerMeta map[string]struct {
	Optional bool `json:"optional"`
}

func (p *peerMeta) UnmarshalJSON(b []byte) error {
	var m map[string]struct {
		Optional bool `json:"optional"`
	}
	if json.Unmarshal(b, &m) == nil {
		*p = m
	}
	return nil
}

// strList is a list of strings, or one string.
type strList []string

func (l *strList) UnmarshalJSON(b []byte) error {
	var list []string
	if json.Unmarshal(b, &list) == nil {
		*l = list
		return nil
	}
	var one string
	if json.Unmarshal(b, &one) == nil && one != "" {
		*l = []string{one}
	}
	return nil
}

// deprecated reports whether the version is marked deprecated.
func (m *manifest) deprecated() bool {
	return m.Deprecated != nil && m.Deprecated != false && m.Deprecated != ""
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
	Name     string                     `json:"name"`
	DistTags map[string]string          `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"` // decoded as needed
}

// manifest decodes one version; nil when the registry lists none, or one
// that cannot be read.
func (d *packument) manifest(version string) *manifest {
	raw, ok := d.Versions[version]
	if !ok {
		return nil
	}
	var m manifest
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	if m.Version == "" {
		m.Version = version
	}
	return &m
}

// registry fetches package documents and tarballs over HTTP.
type registry struct {
	cfg    Config
	client *http.Client
	cache  cache
	log    func(level, msg string)

	mu   sync.Mutex
	docs map[string]*docFetch // by URL: each document is fetched once per install
}

// docFetch is the one fetch of a package document in an install.
type docFetch struct {
	once sync.Once
	doc  *packument
	err  error
}

func newRegistry(cfg Config, client *http.Client, c cache, log func(level, msg string)) *registry {
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport}
	}
	return &registry{cfg: cfg, client: client, cache: c, log: log, docs: map[string]*docFetch{}}
}

// escapeName is a package name as a registry path: "@s/n" → "@s%2fn".
func escapeName(name string) string {
	if strings.HasPrefix(name, "@") {
		return "@" + url.PathEscape(name[1:])
	}
	return url.PathEscape(name)
}

// packument fetches a package's document (the abbreviated form, which
// holds what installing needs), once per install. A copy kept in the
// cache is revalidated (ETag) rather than downloaded again, and used as
// it is, with a warning, when the registry cannot be reached.
func (r *registry) packument(ctx context.Context, name string) (*packument, error) {
	u := r.cfg.registryFor(name) + escapeName(name)
	r.mu.Lock()
	f := r.docs[u]
	if f == nil {
		f = &docFetch{}
		r.docs[u] = f
	}
	r.mu.Unlock()
	f.once.Do(func() { f.doc, f.err = r.fetchPackument(ctx, name, u) })
	return f.doc, f.err
}

func (r *registry) fetchPackument(ctx context.Context, name, u string) (*packument, error) {
	key := u + "\n" + r.cfg.authFor(u)
	etag, cached := r.cache.getDoc(key)
	rq := request{url: u, limit: maxPackumentBytes, etag: etag, retries: 2,
		accept: "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"}
	if cached != nil {
		rq.retries = 0 // the cached copy will do at once
	}
	body, newTag, err := r.get(ctx, rq)
	switch {
	case err == nil && body == nil: // 304: the cached copy is current
		body = cached
		r.log("DEBUG", "the package document of "+name+" is unchanged since it was cached")
	case err == nil:
		r.cache.putDoc(key, newTag, body)
	case cached != nil && isUnreachable(err) && ctx.Err() == nil:
		r.log("WARN", fmt.Sprintf("using the cached package document of %s: %v", name, err))
		body = cached
	default:
		return nil, err
	}
	d := &packument{}
	if err := json.Unmarshal(body, d); err != nil {
		return nil, fmt.Errorf("the registry's document for %s (%s) is not valid JSON: %w", name, u, err)
	}
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
	body, _, err := r.get(ctx, request{url: u, accept: "*/*", limit: maxTarballBytes, retries: 2})
	return body, err
}

// errNotFound is a 404 from the registry.
var errNotFound = errors.New("not found")

// unreachableError is a failure that trying later might cure: the
// network, or the registry's 5xx or 429.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

func isUnreachable(err error) bool {
	var u *unreachableError
	return errors.As(err, &u)
}

// request is one GET.
type request struct {
	url, accept string
	limit       int64  // the most bytes of body accepted
	etag        string // sent as If-None-Match when set
	retries     int    // further attempts after a network error or a 5xx/429
}

// get fetches a URL with the credentials .npmrc has for it. It returns
// the body and its ETag, or a nil body for a 304.
func (r *registry) get(ctx context.Context, rq request) ([]byte, string, error) {
	var err error
	for attempt := 0; attempt <= rq.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, "", ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		var body []byte
		var etag string
		body, etag, err = r.getOnce(ctx, rq)
		if err == nil || !isUnreachable(err) || ctx.Err() != nil {
			return body, etag, err
		}
	}
	return nil, "", err
}

func (r *registry) getOnce(ctx context.Context, rq request) ([]byte, string, error) {
	u := rq.url
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", rq.accept)
	req.Header.Set("User-Agent", "brigade-worker (Go)")
	if a := r.cfg.authFor(u); a != "" {
		req.Header.Set("Authorization", a)
	}
	if rq.etag != "" {
		req.Header.Set("If-None-Match", rq.etag)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, "", &unreachableError{fmt.Errorf("GET %s: %w", u, err)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && rq.etag != "":
		return nil, rq.etag, nil
	case resp.StatusCode == http.StatusNotFound:
		return nil, "", fmt.Errorf("GET %s: 404 %w", u, errNotFound)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, "", fmt.Errorf("GET %s: %s (set a token for this registry in the project's .npmrc: //host/path/:_authToken=...)", u, resp.Status)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, "", &unreachableError{fmt.Errorf("GET %s: %s", u, resp.Status)}
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if resp.ContentLength > rq.limit {
		return nil, "", fmt.Errorf("GET %s: %d bytes is more than the limit of %d MiB", u, resp.ContentLength, rq.limit>>20)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, rq.limit+1))
	if err != nil {
		return nil, "", &unreachableError{fmt.Errorf("GET %s: %w", u, err)}
	}
	if int64(len(body)) > rq.limit {
		return nil, "", fmt.Errorf("GET %s: more than the limit of %d MiB", u, rq.limit>>20)
	}
	return body, resp.Header.Get("ETag"), nil
}
