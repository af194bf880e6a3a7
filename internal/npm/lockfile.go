package npm

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// entry is one package to lay out: a folder under node_modules and the
// tarball that fills it.
type entry struct {
	Path      string // "node_modules/a/node_modules/@s/b", relative to the config folder
	Name      string // the package's own name (differs from the folder for an alias)
	Version   string
	Resolved  string // tarball URL; "" means the registry's usual one
	Integrity Integrity
	Optional  bool
	Deps      map[string]string // what it needs at run time, name → spec
	OptDeps   map[string]bool   // which of Deps may be missing
	OS, CPU   []string          // platforms it is for (empty: any)
}

// folderName is the name the package is found by: the end of its path.
func (e *entry) folderName() string { return nameAtEnd(e.Path) }

// label names the entry in messages: "b@1.2.3 (node_modules/a/node_modules/b)".
func (e *entry) label() string {
	return fmt.Sprintf("%s@%s (%s)", e.Name, e.Version, e.Path)
}

// nameAtEnd is the package name a node_modules path ends with.
func nameAtEnd(p string) string {
	i := strings.LastIndex(p, "node_modules/")
	if i < 0 {
		return p
	}
	return p[i+len("node_modules/"):]
}

// parentPath is the folder whose node_modules holds p ("" for the top).
func parentPath(p string) string {
	i := strings.LastIndex(p, "node_modules/")
	if i <= 0 {
		return ""
	}
	return strings.TrimSuffix(p[:i], "/")
}

// validName reports whether name can be a package's folder: "name" or
// "@scope/name", each part letters, digits and -._~, not starting with
// "." or "_". Names from lockfiles and registries go through it before
// they become paths, so "../x" never does.
func validName(name string) bool {
	if len(name) == 0 || len(name) > 214 {
		return false
	}
	parts := []string{name}
	if strings.HasPrefix(name, "@") {
		scope, rest, ok := strings.Cut(name[1:], "/")
		if !ok {
			return false
		}
		parts = []string{scope, rest}
	}
	for _, p := range parts {
		if p == "" || p[0] == '.' || p[0] == '_' {
			return false
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
				return false
			}
		}
	}
	return true
}

// validPath reports whether p is node_modules/<name>, maybe nested in
// another package's node_modules, with valid names only.
func validPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "node_modules/")
	if !ok {
		return false
	}
	for _, part := range strings.Split(rest, "/node_modules/") {
		if !validName(part) {
			return false
		}
	}
	return true
}

// layout is a node_modules tree by path.
type layout map[string]*entry

// lookup finds the package name as Node would from the folder at path
// from ("" for the config folder): from/node_modules/name, then up.
func (l layout) lookup(from, name string) *entry {
	for {
		p := "node_modules/" + name
		if from != "" {
			p = from + "/" + p
		}
		if e := l[p]; e != nil {
			return e
		}
		if from == "" {
			return nil
		}
		from = parentPath(from)
	}
}

// reachable keeps only the packages the roots need, following each
// package's dependencies the way Node would find them. Packages only
// devDependencies or @brigadecore/brigadier need are left out. A missing
// required package is an error.
func (l layout) reachable(roots map[string]string, optional map[string]bool) (layout, error) {
	out := layout{}
	type want struct {
		from, name, by string
		optional       bool
	}
	var queue []want
	for _, n := range sortedKeys(roots) {
		queue = append(queue, want{"", n, "package.json", optional[n]})
	}
	for len(queue) > 0 {
		w := queue[0]
		queue = queue[1:]
		e := l.lookup(w.from, w.name)
		if e == nil {
			if w.optional {
				continue
			}
			return nil, fmt.Errorf("the lockfile has no package %s, which %s needs; regenerate the lockfile (npm install or yarn install)", w.name, w.by)
		}
		if out[e.Path] != nil {
			continue
		}
		out[e.Path] = e
		for _, n := range sortedKeys(e.Deps) {
			queue = append(queue, want{e.Path, n, e.Name + "@" + e.Version, e.Optional || e.OptDeps[n]})
		}
	}
	return out, nil
}

// packageLock is package-lock.json (or npm-shrinkwrap.json).
type packageLock struct {
	LockfileVersion int                       `json:"lockfileVersion"`
	Packages        map[string]lockPackage    `json:"packages"`     // v2, v3
	Dependencies    map[string]lockDependency `json:"dependencies"` // v1 (and v2, for old npm)
}

type lockPackage struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Resolved             string            `json:"resolved"`
	Integrity            string            `json:"integrity"`
	Link                 bool              `json:"link"`
	Dev                  bool              `json:"dev"`
	Optional             bool              `json:"optional"`
	InBundle             bool              `json:"inBundle"`
	OS                   []string          `json:"os"`
	CPU                  []string          `json:"cpu"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	PeerDependenciesMeta map[string]struct {
		Optional bool `json:"optional"`
	} `json:"peerDependenciesMeta"`
}

type lockDependency struct {
	Version      string                    `json:"version"`
	Resolved     string                    `json:"resolved"`
	Integrity    string                    `json:"integrity"`
	Dev          bool                      `json:"dev"`
	Optional     bool                      `json:"optional"`
	Bundled      bool                      `json:"bundled"`
	Requires     map[string]string         `json:"requires"`
	Dependencies map[string]lockDependency `json:"dependencies"`
}

// parsePackageLock reads package-lock.json versions 1, 2 and 3 into a
// layout (every package it lists, dev ones included).
func parsePackageLock(data []byte) (layout, error) {
	var pl packageLock
	if err := json.Unmarshal(data, &pl); err != nil {
		return nil, fmt.Errorf("package-lock.json is not valid JSON: %w", err)
	}
	l := layout{}
	switch {
	case pl.LockfileVersion > 3:
		return nil, fmt.Errorf("package-lock.json has lockfileVersion %d; this worker reads versions 1 to 3", pl.LockfileVersion)
	case pl.LockfileVersion >= 2 && pl.Packages != nil:
		for p, pkg := range pl.Packages {
			if p == "" || !strings.HasPrefix(p, "node_modules/") || pkg.InBundle {
				continue // the root, workspace folders, and packages that come inside another's tarball
			}
			e := &entry{Path: p, Name: pkg.Name, Version: pkg.Version, Resolved: pkg.Resolved, Optional: pkg.Optional,
				OS: pkg.OS, CPU: pkg.CPU, OptDeps: map[string]bool{}}
			if e.Name == "" {
				e.Name = nameAtEnd(p)
			}
			if pkg.Link {
				e.Resolved = "link:" + pkg.Resolved
			}
			if err := e.setIntegrity(pkg.Integrity); err != nil {
				return nil, err
			}
			e.Deps = mergeDeps(pkg.Dependencies, pkg.OptionalDependencies)
			for n := range pkg.OptionalDependencies {
				e.OptDeps[n] = true
			}
			for n, r := range pkg.PeerDependencies {
				if !pkg.PeerDependenciesMeta[n].Optional {
					e.Deps[n] = r
				}
			}
			l[p] = e
		}
	case pl.LockfileVersion <= 2 && pl.Dependencies != nil:
		if err := addV1(l, "", pl.Dependencies); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// addV1 adds lockfile v1's nested "dependencies" below the folder at base.
func addV1(l layout, base string, deps map[string]lockDependency) error {
	for name, d := range deps {
		p := "node_modules/" + name
		if base != "" {
			p = base + "/" + p
		}
		if !d.Bundled {
			e := &entry{Path: p, Name: name, Version: d.Version, Resolved: d.Resolved, Optional: d.Optional, Deps: d.Requires}
			if strings.HasPrefix(d.Version, "npm:") { // an alias: npm:real@1.0.0
				e.Name, e.Version, _ = parseSpec(name, d.Version)
			}
			if err := e.setIntegrity(d.Integrity); err != nil {
				return err
			}
			l[p] = e
		}
		if err := addV1(l, p, d.Dependencies); err != nil {
			return err
		}
	}
	return nil
}

func (e *entry) setIntegrity(s string) error {
	if s == "" {
		if i := strings.LastIndex(e.Resolved, "#"); i >= 0 {
			e.Integrity, _ = integrityFromSHA1Hex(e.Resolved[i+1:])
		}
		return nil
	}
	in, err := ParseIntegrity(s)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	e.Integrity = in
	return nil
}

// yarnEntry is one block of a yarn.lock v1: the versions the specs in its
// header resolve to.
type yarnEntry struct {
	Version   string
	Resolved  string
	Integrity string
	Deps      map[string]string // dependencies and optionalDependencies
	Optional  map[string]bool
}

// parseYarnLock reads a yarn.lock of yarn 1 ("# yarn lockfile v1"): a map
// from "name@spec" to its resolution.
func parseYarnLock(data []byte) (map[string]*yarnEntry, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if strings.Contains(text, "__metadata:") {
		return nil, fmt.Errorf("yarn.lock is in the format of yarn 2 or newer (berry); this worker reads yarn 1 lockfiles")
	}
	out := map[string]*yarnEntry{}
	var cur *yarnEntry
	section := "" // "dependencies" or "optionalDependencies" while inside one
	for n, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case indent == 0:
			if !strings.HasSuffix(trimmed, ":") {
				return nil, fmt.Errorf("yarn.lock line %d: expected a header ending in ':'", n+1)
			}
			cur, section = &yarnEntry{Deps: map[string]string{}, Optional: map[string]bool{}}, ""
			for _, spec := range strings.Split(strings.TrimSuffix(trimmed, ":"), ",") {
				out[unquote(strings.TrimSpace(spec))] = cur
			}
		case cur == nil:
			return nil, fmt.Errorf("yarn.lock line %d: indented line outside a block", n+1)
		case indent <= 2:
			key, val := splitYarnField(trimmed)
			section = ""
			switch key {
			case "version":
				cur.Version = val
			case "resolved":
				cur.Resolved = val
			case "integrity":
				cur.Integrity = val
			case "dependencies", "optionalDependencies":
				if val == "" {
					section = key
				}
			}
		case section != "":
			key, val := splitYarnField(trimmed)
			cur.Deps[key] = val
			if section == "optionalDependencies" {
				cur.Optional[key] = true
			}
		}
	}
	return out, nil
}

// splitYarnField splits `key "value"` or `"key" value` or `key:` (a
// section header).
func splitYarnField(s string) (string, string) {
	if strings.HasSuffix(s, ":") {
		return unquote(strings.TrimSuffix(s, ":")), ""
	}
	var key string
	if strings.HasPrefix(s, `"`) {
		end := strings.Index(s[1:], `"`)
		if end < 0 {
			return unquote(s), ""
		}
		key, s = s[1:end+1], s[end+2:]
	} else {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return s, ""
		}
		key, s = s[:i], s[i:]
	}
	return key, unquote(strings.TrimSpace(s))
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`)
	}
	return s
}

func mergeDeps(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
