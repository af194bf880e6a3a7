package local

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// withoutBrigadeVars drops every variable whose name starts with BRIGADE_:
// the server's own settings (root password, tokens) must not reach
// workloads. BRIGADE_CPUPROFILE, a profiling aid that holds only a file
// prefix, is kept so that the workers of a profiled server profile too.
func withoutBrigadeVars(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "BRIGADE_") || strings.HasPrefix(kv, "BRIGADE_CPUPROFILE=") {
			out = append(out, kv)
		}
	}
	return out
}

// mergeEnv returns base with each layer applied in turn (later wins). The
// variables of a layer are added in name order.
func mergeEnv(base []string, layers ...map[string]string) []string {
	n := len(base)
	for _, layer := range layers {
		n += len(layer)
	}
	out := make([]string, 0, n)
	at := make(map[string]int, n)
	set := func(k, v string) {
		if i, ok := at[k]; ok {
			out[i] = k + "=" + v
			return
		}
		at[k] = len(out)
		out = append(out, k+"="+v)
	}
	for _, kv := range base {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			kv += "="
		}
		if i, dup := at[k]; dup {
			out[i] = kv
			continue
		}
		at[k] = len(out)
		out = append(out, kv) // as it is: no copy
	}
	for _, layer := range layers {
		keys := make([]string, 0, len(layer))
		for k := range layer {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			set(k, layer[k])
		}
	}
	return out
}

// envValue returns the value of key in env ("" when absent).
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath finds file like a shell does, but with the job's PATH rather
// than the server's. A name with a slash is taken relative to dir. Relative
// PATH entries are skipped, as os/exec does since Go 1.19. Like a shell's
// hash table, it remembers where it found a bare name on a PATH and looks
// there first (one stat instead of one per PATH entry), searching again
// once that file is gone or no longer executable.
func lookPath(file, pathEnv, dir string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := checkExecutable(p); err != nil {
			return "", err
		}
		return p, nil
	}
	if pathEnv == "" {
		pathEnv = defaultPath
	}
	key := pathKey{file, pathEnv}
	if p, ok := foundPaths.get(key); ok && checkExecutable(p) == nil {
		return p, nil
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, file)
		if checkExecutable(p) == nil {
			foundPaths.put(key, p)
			return p, nil
		}
	}
	return "", fmt.Errorf("executable file not found in $PATH (%s)", pathEnv)
}

// pathKey is a bare name on a PATH.
type pathKey struct{ file, path string }

// foundPaths remembers where lookPath found names; it forgets everything
// once it holds maxFoundPaths of them (jobs choose their names and PATHs).
var foundPaths = pathCache{m: map[pathKey]string{}}

const maxFoundPaths = 256

type pathCache struct {
	mu sync.Mutex
	m  map[pathKey]string
}

func (c *pathCache) get(k pathKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[k]
	return p, ok
}

func (c *pathCache) put(k pathKey, p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxFoundPaths {
		clear(c.m)
	}
	c.m[k] = p
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%s is a directory", p)
	case fi.Mode()&0o111 == 0:
		return fmt.Errorf("%s is not executable (chmod +x it)", p)
	}
	return nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// pathMap ties a container's mount path to the event folder behind it.
type pathMap struct {
	field  string // sourceMountPath or workspaceMountPath
	target string // the path the container asked for
	host   string // the event's folder
}

// within returns the map whose target holds p (the deepest one) and p's
// path relative to it.
func within(p string, maps []pathMap) (pathMap, string, bool) {
	var best pathMap
	rel, found := "", false
	for _, m := range maps {
		r, err := filepath.Rel(m.target, p)
		if err != nil || r == ".." || strings.HasPrefix(r, "../") {
			continue
		}
		if !found || len(m.target) > len(best.target) {
			best, rel, found = m, r, true
		}
	}
	return best, rel, found
}

// resolveDir picks a process's working directory (see the package
// documentation) and, when it had to fall back, a note for the log. With
// bind mounts the result is a path inside the mount namespace.
func resolveDir(wd string, maps []pathMap, eventDir string, bind bool) (string, string) {
	if wd == "" {
		return eventDir, ""
	}
	wd = filepath.Clean(wd)
	if !filepath.IsAbs(wd) {
		return eventDir, fmt.Sprintf("%slocal substrate: working directory %q is not an absolute path; running in the event folder %s",
			notePrefix, wd, eventDir)
	}
	if m, rel, ok := within(wd, maps); ok {
		hostDir := filepath.Join(m.host, rel)
		if isDir(hostDir) {
			if bind {
				return wd, ""
			}
			return hostDir, ""
		}
		fallback := m.host
		if bind {
			fallback = m.target
		}
		return fallback, fmt.Sprintf("%slocal substrate: working directory %s does not exist under %s %s; running in %s",
			notePrefix, wd, m.field, m.target, fallback)
	}
	if isDir(wd) {
		return wd, ""
	}
	return eventDir, fmt.Sprintf("%slocal substrate: working directory %s does not exist on the host; running in the event folder %s",
		notePrefix, wd, eventDir)
}

// mountMaps checks a container's mount paths and ties them to the event's
// folders. It returns a failure reason for a path it cannot honour.
func mountMaps(container string, c mountFields, p eventPaths, useWorkspace bool) ([]pathMap, string) {
	var maps []pathMap
	add := func(field, target, host string) string {
		if target == "" {
			return ""
		}
		t := filepath.Clean(target)
		switch {
		case !filepath.IsAbs(t):
			return fmt.Sprintf("container %s: %s %q is not an absolute path", container, field, target)
		case t == "/":
			return fmt.Sprintf("container %s: %s cannot be /", container, field)
		}
		for _, m := range maps {
			if m.target == t {
				return fmt.Sprintf("container %s: %s and %s are both %s; use two paths", container, m.field, field, t)
			}
		}
		maps = append(maps, pathMap{field: field, target: t, host: host})
		return ""
	}
	if f := add("sourceMountPath", c.source, p.source); f != "" {
		return nil, f
	}
	if c.workspace != "" && !useWorkspace {
		return nil, fmt.Sprintf("container %s asks for workspaceMountPath %s but the worker does not use a workspace; "+
			"set useWorkspace: true in the project's workerTemplate", container, c.workspace)
	}
	if f := add("workspaceMountPath", c.workspace, p.workspace); f != "" {
		return nil, f
	}
	return maps, ""
}

// mountFields are a container's mount paths.
type mountFields struct{ source, workspace string }

// topLevel returns the targets not inside another target of the list: the
// ones that must exist on the host (nested ones are created inside the
// bind-mounted event folders).
func topLevel(maps []pathMap) []string {
	var out []string
	for _, m := range maps {
		inner := false
		for _, o := range maps {
			if o.target != m.target {
				if r, err := filepath.Rel(o.target, m.target); err == nil && r != ".." && !strings.HasPrefix(r, "../") {
					inner = true
				}
			}
		}
		if !inner {
			out = append(out, m.target)
		}
	}
	return out
}

// writeEventFile writes the worker's event document, readable by its owner
// only. The mode is set before the document (which holds the worker's
// token) is written, and only when it differs: a file left by an earlier
// start of the event, or a umask that took bits away. A chmod of an
// unchanged mode still changes the file's metadata, one disk write more
// per event.
func writeEventFile(path string, doc []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm() != 0o600 {
		err = f.Chmod(0o600)
	}
	if err == nil {
		_, err = f.Write(doc)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
