package npm

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// pick is the version a spec resolved to.
type pick struct {
	name      string // the package's own name
	version   string
	resolved  string
	integrity Integrity
	deps      map[string]string // dependencies, optionalDependencies and required peers
	optDeps   map[string]bool
	peers     map[string]bool
	bundled   map[string]bool
	os, cpu   []string
}

// source resolves a dependency spec to a version.
type source interface {
	pick(ctx context.Context, folder, spec string) (*pick, error)
	// prefetch may start work that a later pick of folder@spec needs;
	// wait waits for all such work to end.
	prefetch(ctx context.Context, folder, spec string)
	wait()
}

// parseSpec splits a dependency spec into the package to fetch and its
// version range or dist-tag: "^1.2.0", "latest", "npm:other@^2" (an
// alias). Specs that need something other than a registry (git, file,
// URL) are refused.
func parseSpec(folder, spec string) (name, want string, err error) {
	spec = strings.TrimSpace(spec)
	if rest, ok := strings.CutPrefix(spec, "npm:"); ok {
		at := strings.LastIndex(rest, "@")
		if at <= 0 {
			return rest, "", nil
		}
		return rest[:at], rest[at+1:], nil
	}
	unsupported := strings.Contains(spec, ":") || strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "/") ||
		strings.HasPrefix(spec, "~/") || (strings.Contains(spec, "/") && !strings.HasPrefix(spec, "@"))
	if unsupported && !strings.ContainsAny(spec, " <>=") {
		return "", "", fmt.Errorf("dependency %s: %q is not a version, range or dist-tag; this worker installs from npm registries only "+
			"(git, file and URL dependencies are not supported: commit node_modules instead)", folder, spec)
	}
	return folder, spec, nil
}

// satisfiedBy reports whether an installed name@version meets spec.
func satisfiedBy(folder, spec, name, version string) bool {
	want, rng, err := parseSpec(folder, spec)
	if err != nil || want != name {
		return false
	}
	v, err := ParseVersion(version)
	if err != nil {
		return false
	}
	r, err := ParseRange(rng)
	if err != nil {
		return true // a dist-tag: any version of the package will do
	}
	return r.Satisfies(v)
}

// registrySource picks versions from the registry's documents: the
// dist-tag "latest" when it is in the range (as npm does), else the
// highest version in it, ones not deprecated first.
type registrySource struct {
	reg      *registry
	inFlight *sync.WaitGroup // prefetches
	slots    chan struct{}   // bounds the prefetches under way
}

func newRegistrySource(reg *registry) registrySource {
	return registrySource{reg: reg, inFlight: &sync.WaitGroup{}, slots: make(chan struct{}, parallel)}
}

// prefetch starts fetching the document a later pick of folder@spec
// needs, so that a tree's documents download side by side rather than one
// after another. A failure is left for that pick to meet and report.
func (s registrySource) prefetch(ctx context.Context, folder, spec string) {
	name, _, err := parseSpec(folder, spec)
	if err != nil {
		return
	}
	s.inFlight.Add(1)
	go func() {
		defer s.inFlight.Done()
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-s.slots }()
		_, _ = s.reg.packument(ctx, name)
	}()
}

// wait returns once no prefetch is under way.
func (s registrySource) wait() { s.inFlight.Wait() }

func (s registrySource) pick(ctx context.Context, folder, spec string) (*pick, error) {
	name, want, err := parseSpec(folder, spec)
	if err != nil {
		return nil, err
	}
	doc, err := s.reg.packument(ctx, name)
	if err != nil {
		if errors.Is(err, errNotFound) {
			return nil, fmt.Errorf("package %s is not in the registry %s", name, s.reg.cfg.registryFor(name))
		}
		return nil, fmt.Errorf("package %s: %w", name, err)
	}
	m, err := choose(doc, want)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", name, err)
	}
	p := &pick{name: name, version: m.Version, resolved: m.Dist.Tarball, deps: map[string]string{},
		optDeps: map[string]bool{}, peers: map[string]bool{}, bundled: m.bundled(), os: m.OS, cpu: m.CPU}
	if m.Dist.Integrity != "" {
		if p.integrity, err = ParseIntegrity(m.Dist.Integrity); err != nil {
			return nil, fmt.Errorf("package %s@%s: %w", name, m.Version, err)
		}
	} else {
		p.integrity, _ = integrityFromSHA1Hex(m.Dist.Shasum)
	}
	for n, r := range m.Dependencies {
		p.deps[n] = r
	}
	for n, r := range m.OptionalDependencies {
		p.deps[n], p.optDeps[n] = r, true
	}
	for n, r := range m.PeerDependencies {
		if _, dep := p.deps[n]; !dep && !m.PeerDependenciesMeta[n].Optional {
			p.deps[n], p.peers[n] = r, true
		}
	}
	return p, nil
}

// choose picks the version of a package document that want (a range or a
// dist-tag) names.
func choose(doc *packument, want string) (*manifest, error) {
	if want == "" {
		want = "latest"
	}
	if v, ok := doc.DistTags[want]; ok {
		if m := doc.manifest(v); m != nil {
			return m, nil
		}
		return nil, fmt.Errorf("dist-tag %s names version %s, which the registry does not list", want, v)
	}
	r, err := ParseRange(want)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a version range nor one of its dist-tags", want)
	}
	if latest := doc.DistTags["latest"]; latest != "" {
		if v, err := ParseVersion(latest); err == nil && r.Satisfies(v) {
			if m := doc.manifest(latest); m != nil {
				return m, nil
			}
		}
	}
	type candidate struct {
		s string
		v Version
	}
	var in []candidate
	for s := range doc.Versions {
		if v, err := ParseVersion(s); err == nil && r.Satisfies(v) {
			in = append(in, candidate{s, v})
		}
	}
	sort.Slice(in, func(i, j int) bool { return in[i].v.Compare(in[j].v) > 0 })
	var fallback *manifest // the highest, deprecated or not
	for _, c := range in {
		m := doc.manifest(c.s)
		if m == nil {
			continue
		}
		if !m.deprecated() {
			return m, nil
		}
		if fallback == nil {
			fallback = m
		}
	}
	if fallback == nil {
		return nil, fmt.Errorf("no version matches %q", want)
	}
	return fallback, nil
}

// yarnSource picks what yarn.lock says; a spec it lacks (package.json
// changed since) is resolved from the registry.
type yarnSource struct {
	lock     map[string]*yarnEntry
	fallback registrySource
	log      func(level, msg string)
}

func (s yarnSource) prefetch(ctx context.Context, folder, spec string) {
	if s.lock[folder+"@"+spec] == nil {
		s.fallback.prefetch(ctx, folder, spec)
	}
}

func (s yarnSource) wait() { s.fallback.wait() }

func (s yarnSource) pick(ctx context.Context, folder, spec string) (*pick, error) {
	e := s.lock[folder+"@"+spec]
	if e == nil {
		s.log("WARN", fmt.Sprintf("yarn.lock has no entry for %s@%s; resolving it from the registry", folder, spec))
		return s.fallback.pick(ctx, folder, spec)
	}
	name, _, err := parseSpec(folder, spec)
	if err != nil {
		return nil, err
	}
	p := &pick{name: name, version: e.Version, resolved: e.Resolved, deps: e.Deps, optDeps: e.Optional,
		peers: map[string]bool{}, bundled: map[string]bool{}}
	tmp := entry{Path: "node_modules/" + folder, Resolved: e.Resolved}
	if err := tmp.setIntegrity(e.Integrity); err != nil {
		return nil, fmt.Errorf("yarn.lock: %w", err)
	}
	p.integrity = tmp.Integrity
	return p, nil
}

// tnode is a package placed in the tree being built; the root is the
// config folder.
type tnode struct {
	folder   string
	p        *pick
	parent   *tnode
	children map[string]*tnode
	optional bool
}

// tedge records that the package name, looked up from the folder of from,
// was found at to.
type tedge struct {
	from *tnode
	name string
	to   *tnode
}

// within reports whether n is anc or inside it.
func (n *tnode) within(anc *tnode) bool {
	for ; n != nil; n = n.parent {
		if n == anc {
			return true
		}
	}
	return false
}

// tree lays out packages the way npm does: each one as high up as it can
// go (the top node_modules if possible), nested under its dependent only
// where another version is already in the way. Breadth-first and in name
// order, so the same input gives the same tree.
type tree struct {
	src   source
	root  *tnode
	edges []tedge
	queue []*tnode
	log   func(level, msg string)
}

// buildTree resolves the roots (package.json's dependencies; the optional
// ones may fail) and everything they need.
func buildTree(ctx context.Context, src source, roots map[string]string, optional map[string]bool,
	log func(level, msg string)) (layout, error) {
	t := &tree{src: src, root: &tnode{children: map[string]*tnode{}}, log: log}
	defer src.wait() // nothing outlives the install
	for n, spec := range roots {
		src.prefetch(ctx, n, spec)
	}
	for _, n := range sortedKeys(roots) {
		if err := t.place(ctx, t.root, n, roots[n], optional[n], false); err != nil {
			return nil, err
		}
	}
	for len(t.queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := t.queue[0]
		t.queue = t.queue[1:]
		for _, d := range sortedKeys(n.p.deps) {
			if n.p.bundled[d] {
				continue
			}
			if err := t.place(ctx, n, d, n.p.deps[d], n.optional || n.p.optDeps[d], n.p.peers[d]); err != nil {
				return nil, fmt.Errorf("%s@%s: %w", n.p.name, n.p.version, err)
			}
		}
	}
	l := layout{}
	var walk func(n *tnode, base string)
	walk = func(n *tnode, base string) {
		for _, name := range sortedKeys(n.children) {
			c := n.children[name]
			p := "node_modules/" + name
			if base != "" {
				p = base + "/" + p
			}
			l[p] = &entry{Path: p, Name: c.p.name, Version: c.p.version, Resolved: c.p.resolved,
				Integrity: c.p.integrity, Optional: c.optional, OS: c.p.os, CPU: c.p.cpu}
			walk(c, p)
		}
	}
	walk(t.root, "")
	return l, nil
}

// place makes the package folder@spec findable from the folder of from
// (for a peer dependency, from the folder that holds from).
func (t *tree) place(ctx context.Context, from *tnode, folder, spec string, optional, peer bool) error {
	start := from
	if peer && from.parent != nil {
		start = from.parent
	}
	var found, foundAt *tnode
	for n := start; n != nil; n = n.parent {
		if c := n.children[folder]; c != nil {
			found, foundAt = c, n
			break
		}
	}
	if found != nil && satisfiedBy(folder, spec, found.p.name, found.p.version) {
		if !optional {
			found.optional = false
		}
		t.edges = append(t.edges, tedge{start, folder, found})
		return nil
	}
	p, err := t.src.pick(ctx, folder, spec)
	if err == nil && optional && !platformOK(p.os, p.cpu) {
		t.log("INFO", fmt.Sprintf("skipping optional %s@%s: it is for os %v, cpu %v", p.name, p.version, p.os, p.cpu))
		return nil
	}
	if err != nil {
		if optional && ctx.Err() == nil {
			t.log("WARN", fmt.Sprintf("skipping optional dependency %s@%s: %v", folder, spec, err))
			return nil
		}
		return err
	}
	// Candidate folders: from start up to (not including) the one whose
	// other version is in the way; the highest that shadows nobody wins.
	var chain []*tnode
	for n := start; n != nil && n != foundAt; n = n.parent {
		chain = append(chain, n)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		at := chain[i]
		if t.shadows(at, folder, p.version) {
			continue
		}
		n := &tnode{folder: folder, p: p, parent: at, children: map[string]*tnode{}, optional: optional}
		at.children[folder] = n
		t.edges = append(t.edges, tedge{start, folder, n})
		t.queue = append(t.queue, n)
		for d, spec := range p.deps {
			if !p.bundled[d] {
				t.src.prefetch(ctx, d, spec)
			}
		}
		return nil
	}
	if peer {
		t.log("WARN", fmt.Sprintf("peer dependency %s@%s of %s@%s conflicts with %s@%s already installed; keeping that one",
			folder, spec, from.p.name, from.p.version, found.p.name, found.p.version))
		return nil
	}
	return fmt.Errorf("cannot place %s@%s in node_modules without breaking another package", folder, spec)
}

// shadows reports whether a new version of folder at the node at would
// hide, from a package below at, the other version it already found above.
func (t *tree) shadows(at *tnode, folder, version string) bool {
	for _, e := range t.edges {
		if e.name == folder && e.to.p.version != version && e.from.within(at) && !e.to.parent.within(at) {
			return true
		}
	}
	return false
}

// platformOK reports whether a package's os and cpu lists allow this
// machine ("!x" excludes x).
func platformOK(osList, cpuList []string) bool {
	goos := map[string]string{"windows": "win32"}[runtime.GOOS]
	if goos == "" {
		goos = runtime.GOOS
	}
	arch := map[string]string{"amd64": "x64", "386": "ia32"}[runtime.GOARCH]
	if arch == "" {
		arch = runtime.GOARCH
	}
	return allowed(osList, goos) && allowed(cpuList, arch)
}

func allowed(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	any := false
	for _, x := range list {
		if x == "!"+v {
			return false
		}
		if !strings.HasPrefix(x, "!") {
			any = true
			if x == v {
				return true
			}
		}
	}
	return !any
}
