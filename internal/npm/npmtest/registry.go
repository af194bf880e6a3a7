// Package npmtest serves a small npm registry from a test: package
// documents and tarballs made in memory, so install tests need no network.
package npmtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Package is one version to publish.
type Package struct {
	Name, Version string
	Deps          map[string]string // dependencies
	Scripts       map[string]string // package.json scripts (install scripts are refused)
	Files         map[string]string // more files, by path inside the package; index.js defaults to exporting the version
}

// Registry is an npm registry on a loopback port.
type Registry struct {
	URL   string
	Token string // when set, every request must carry "Bearer <Token>"

	mu          sync.Mutex
	versions    map[string]map[string]*published
	hits        map[string]int // tarball downloads by name@version
	docHits     int
	notModified int
	down        bool
}

// SetDown makes every request fail with 503 (true) or work again.
func (r *Registry) SetDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// NotModified is how many package documents were answered 304 (the
// client's cached copy, by its ETag, was current).
func (r *Registry) NotModified() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.notModified
}

type published struct {
	pkg       Package
	tgz       []byte
	integrity string
}

// New starts a registry that stops when the test ends.
func New(t testing.TB) *Registry {
	r := &Registry{versions: map[string]map[string]*published{}, hits: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/"
	return r
}

// Publish adds packages.
func (r *Registry) Publish(pkgs ...Package) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range pkgs {
		tgz := Tarball(p)
		sum := sha512.Sum512(tgz)
		if r.versions[p.Name] == nil {
			r.versions[p.Name] = map[string]*published{}
		}
		r.versions[p.Name][p.Version] = &published{pkg: p, tgz: tgz,
			integrity: "sha512-" + base64.StdEncoding.EncodeToString(sum[:])}
	}
}

// TarballURL is where a version's tarball is served.
func (r *Registry) TarballURL(name, version string) string {
	base := name[strings.LastIndex(name, "/")+1:]
	return r.URL + name + "/-/" + base + "-" + version + ".tgz"
}

// Integrity is a published version's sha512 SRI.
func (r *Registry) Integrity(name, version string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.versions[name][version].integrity
}

// Downloads is how many times tarballs were served, in all.
func (r *Registry) Downloads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, h := range r.hits {
		n += h
	}
	return n
}

// Documents is how many package documents were served whole.
func (r *Registry) Documents() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.docHits
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	if r.Token != "" && req.Header.Get("Authorization") != "Bearer "+r.Token {
		http.Error(w, `{"error":"authentication required"}`, http.StatusUnauthorized)
		return
	}
	p, err := url.PathUnescape(strings.TrimPrefix(req.URL.EscapedPath(), "/"))
	if err != nil {
		http.NotFound(w, req)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	if name, file, ok := strings.Cut(p, "/-/"); ok {
		for v, pub := range r.versions[name] {
			if strings.HasSuffix(file, "-"+v+".tgz") {
				r.hits[name+"@"+v]++
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Write(pub.tgz)
				return
			}
		}
		http.NotFound(w, req)
		return
	}
	vs := r.versions[p]
	if vs == nil {
		http.Error(w, `{"error":"Not found"}`, http.StatusNotFound)
		return
	}
	doc := map[string]any{"name": p}
	versions := map[string]any{}
	var all []string
	for v, pub := range vs {
		all = append(all, v)
		versions[v] = map[string]any{
			"name": p, "version": v, "dependencies": pub.pkg.Deps,
			"dist": map[string]any{"tarball": r.TarballURL(p, v), "integrity": pub.integrity},
		}
	}
	sort.Strings(all) // good enough for "latest" in tests: the last published-looking one
	doc["versions"] = versions
	doc["dist-tags"] = map[string]string{"latest": all[len(all)-1]}
	body, _ := json.Marshal(doc)
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if req.Header.Get("If-None-Match") == etag {
		r.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	r.docHits++
	w.Header().Set("Content-Type", "application/vnd.npm.install-v1+json")
	w.Header().Set("ETag", etag)
	w.Write(body)
}

// Tarball makes a package's .tgz: package/package.json, package/index.js
// and the package's other files.
func Tarball(p Package) []byte {
	pj, _ := json.Marshal(map[string]any{"name": p.Name, "version": p.Version, "dependencies": p.Deps, "scripts": p.Scripts})
	files := map[string]string{"package.json": string(pj),
		"index.js": "module.exports = " + mustJSON(p.Name+"@"+p.Version) + ";\n"}
	for k, v := range p.Files {
		files[k] = v
	}
	entries := make([]Entry, 0, len(files))
	for _, k := range sortedNames(files) {
		entries = append(entries, Entry{Name: "package/" + k, Body: files[k]})
	}
	return TarGz(entries...)
}

// Entry is one raw tar entry for TarGz.
type Entry struct {
	Name     string
	Body     string
	Typeflag byte   // default: a regular file
	Linkname string // for links
}

// TarGz builds a gzipped tar of raw entries (for tests of unsafe ones).
func TarGz(entries ...Entry) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Size: int64(len(e.Body)), Typeflag: e.Typeflag, Linkname: e.Linkname}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.Body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LockV3 writes a package-lock.json (lockfileVersion 3) for a layout given
// as path → "name@version" (e.g. "node_modules/a/node_modules/b": "b@1.0.0"),
// with the registry's URLs and integrities; roots are package.json's
// dependencies.
func (r *Registry) LockV3(roots map[string]string, layout map[string]string) string {
	pkgs := map[string]any{"": map[string]any{"dependencies": roots}}
	for path, nv := range layout {
		at := strings.LastIndex(nv, "@")
		name, v := nv[:at], nv[at+1:]
		r.mu.Lock()
		pub := r.versions[name][v]
		r.mu.Unlock()
		e := map[string]any{"version": v, "resolved": r.TarballURL(name, v), "integrity": pub.integrity}
		if len(pub.pkg.Deps) > 0 {
			e["dependencies"] = pub.pkg.Deps
		}
		if !strings.HasSuffix(path, "node_modules/"+name) {
			e["name"] = name
		}
		pkgs[path] = e
	}
	b, _ := json.MarshalIndent(map[string]any{"name": "script", "lockfileVersion": 3, "requires": true, "packages": pkgs}, "", "  ")
	return string(b)
}
