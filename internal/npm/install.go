// Package npm installs a Brigade script's npm dependencies without Node.js:
// it reads package.json, follows package-lock.json (versions 1 to 3) or
// yarn.lock (yarn 1) when there is one and otherwise resolves the version
// ranges against the registry, downloads the tarballs (verifying their
// integrity, keeping them in a per-project cache), and lays them out in
// node_modules as npm would, so that the bundler finds them the way Node
// does. Packages that need install scripts or native builds are refused:
// nothing they would run can run here.
package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// brigadier is served by the worker itself: package.json may pin it for
// editors and type checking, but it is never installed.
const brigadier = "@brigadecore/brigadier"

// parallel is how many tarballs download at once.
const parallel = 8

// Options configure an install.
type Options struct {
	Dir      string            // the config folder holding package.json
	CacheDir string            // the project's cache folder; "" for no cache
	CacheMax int64             // the cache's bound in bytes (default DefaultCacheMax)
	Env      map[string]string // values for ${NAME} in .npmrc
	Client   *http.Client      // default: http.DefaultTransport
	// Log receives progress lines; level is DEBUG, INFO or WARN.
	Log func(level, msg string)
}

// Result counts what an install did.
type Result struct {
	Packages   int // packages in node_modules after the install
	Present    int // already there (committed, or the same version)
	FromCache  int
	Downloaded int
	Skipped    bool // nothing to install, or node_modules already had it all
}

// Install installs the dependencies of Dir/package.json into
// Dir/node_modules. Without a package.json (or with no dependencies) it
// does nothing. It runs under ctx: a worker's timeout or cancel stops it.
func Install(ctx context.Context, opts Options) (Result, error) {
	if opts.Log == nil {
		opts.Log = func(string, string) {}
	} else {
		var mu sync.Mutex // downloads log from several goroutines
		log := opts.Log
		opts.Log = func(level, msg string) {
			mu.Lock()
			defer mu.Unlock()
			log(level, msg)
		}
	}
	if opts.CacheMax <= 0 {
		opts.CacheMax = DefaultCacheMax
	}
	start := time.Now()
	pj := filepath.Join(opts.Dir, "package.json")
	raw, err := os.ReadFile(pj)
	if errors.Is(err, fs.ErrNotExist) {
		return Result{Skipped: true}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("reading %s: %w", pj, err)
	}
	opts.Log("DEBUG", "found a package.json at "+pj)
	var pkg struct {
		Dependencies         map[string]string `json:"dependencies"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			field, _, _ := strings.Cut(typeErr.Field, ".")
			return Result{}, fmt.Errorf("package.json: %s must map package names to version ranges (strings)", field)
		}
		return Result{}, fmt.Errorf("package.json is not valid JSON: %w", err)
	}
	// What `npm install --prod` installs: dependencies and
	// optionalDependencies, not devDependencies.
	roots := mergeDeps(pkg.Dependencies, pkg.OptionalDependencies)
	optional := map[string]bool{}
	for n := range pkg.OptionalDependencies {
		optional[n] = true
	}
	if _, ok := roots[brigadier]; ok {
		opts.Log("DEBUG", "not installing "+brigadier+": the worker provides it")
		delete(roots, brigadier)
	}
	if len(roots) == 0 {
		opts.Log("DEBUG", "no dependencies -- bypassing dependency resolution")
		return Result{Skipped: true}, nil
	}
	if missing := missingFromNodeModules(opts.Dir, roots, optional); len(missing) == 0 {
		opts.Log("INFO", "node_modules already has every dependency package.json names; not installing")
		return Result{Skipped: true}, nil
	}

	cfg := Config{Registry: DefaultRegistry, Scopes: map[string]string{}}
	if rc, err := os.ReadFile(filepath.Join(opts.Dir, ".npmrc")); err == nil {
		if cfg, err = ParseNpmrc(string(rc), opts.Env); err != nil {
			return Result{}, err
		}
		opts.Log("DEBUG", "using the registry settings of .npmrc")
	}
	c := cache{dir: opts.CacheDir}
	reg := newRegistry(cfg, opts.Client, c, opts.Log)
	l, err := plan(ctx, opts, reg, roots, optional)
	if err != nil {
		return Result{}, err
	}
	in := installer{opts: opts, reg: reg, cache: c}
	res, err := in.run(ctx, l)
	if err != nil {
		return res, err
	}
	if removed := in.cache.prune(opts.CacheMax); removed > 0 {
		opts.Log("DEBUG", fmt.Sprintf("removed %d tarballs from the package cache to keep it under %d MiB", removed, opts.CacheMax>>20))
	}
	msg := fmt.Sprintf("installed %d package%s (%d from cache, %d downloaded", res.Packages, plural(res.Packages),
		res.FromCache, res.Downloaded)
	if res.Present > 0 {
		msg += fmt.Sprintf(", %d already in node_modules", res.Present)
	}
	opts.Log("INFO", msg+fmt.Sprintf(") in %s", time.Since(start).Round(time.Millisecond)))
	return res, nil
}

// missingFromNodeModules lists the dependencies that Dir/node_modules does
// not hold in a version package.json accepts. When it lists none, the
// node_modules a user committed is used as it is.
func missingFromNodeModules(dir string, roots map[string]string, optional map[string]bool) []string {
	var missing []string
	for _, n := range sortedKeys(roots) {
		name, version, err := readPackageJSON(filepath.Join(dir, "node_modules", n))
		if (err != nil && !optional[n]) || (err == nil && !satisfiedBy(n, roots[n], name, version)) {
			missing = append(missing, n)
		}
	}
	return missing
}

func readPackageJSON(dir string) (string, string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return "", "", err
	}
	var p packageJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", "", err
	}
	return p.Name, p.Version, nil
}

// plan decides what goes where. As in Brigade's worker, yarn.lock means
// yarn: the tree is resolved with its versions. Otherwise the tree of
// npm-shrinkwrap.json or package-lock.json is used while it still matches
// package.json; without either, the ranges are resolved from the registry.
func plan(ctx context.Context, opts Options, reg *registry, roots map[string]string, optional map[string]bool) (layout, error) {
	registrySrc := newRegistrySource(reg)
	if raw, err := os.ReadFile(filepath.Join(opts.Dir, "yarn.lock")); err == nil {
		opts.Log("DEBUG", "using yarn as the package manager")
		lock, err := parseYarnLock(raw)
		if err != nil {
			return nil, err
		}
		opts.Log("INFO", "installing dependencies from yarn.lock")
		return buildTree(ctx, yarnSource{lock: lock, fallback: registrySrc, log: opts.Log}, roots, optional, opts.Log)
	}
	opts.Log("DEBUG", "using npm as the package manager")
	for _, name := range []string{"npm-shrinkwrap.json", "package-lock.json"} {
		raw, err := os.ReadFile(filepath.Join(opts.Dir, name))
		if err != nil {
			continue
		}
		l, err := parsePackageLock(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if stale := staleRoots(l, roots); len(stale) > 0 {
			opts.Log("WARN", fmt.Sprintf("%s does not match package.json (%s); resolving the dependencies from the registry instead",
				name, strings.Join(stale, ", ")))
			break
		}
		opts.Log("INFO", "installing dependencies from "+name)
		kept, err := l.reachable(roots, optional)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return kept, nil
	}
	opts.Log("INFO", "resolving the dependencies of package.json against "+reg.cfg.Registry)
	return buildTree(ctx, registrySrc, roots, optional, opts.Log)
}

// staleRoots lists package.json's dependencies that the lockfile lacks at
// the top of node_modules or has in a version out of their range.
func staleRoots(l layout, roots map[string]string) []string {
	var stale []string
	for _, n := range sortedKeys(roots) {
		e := l["node_modules/"+n]
		if e == nil {
			stale = append(stale, n+" is missing")
		} else if !satisfiedBy(n, roots[n], e.Name, e.Version) {
			stale = append(stale, fmt.Sprintf("%s@%s is not %s", n, e.Version, roots[n]))
		}
	}
	return stale
}

// installer fills node_modules from a layout.
type installer struct {
	opts  Options
	reg   *registry
	cache cache
}

// fetched is a package's tarball, unpacked, or why it could not be had.
type fetched struct {
	files  []tarFile
	cached bool
	err    error
}

func (in *installer) run(ctx context.Context, l layout) (Result, error) {
	paths := sortedKeys(l)
	// Parents before the packages nested in them.
	sort.SliceStable(paths, func(i, j int) bool {
		return strings.Count(paths[i], "node_modules/") < strings.Count(paths[j], "node_modules/")
	})
	var res Result
	var todo []*entry
	replaced := map[string]bool{}
	for _, p := range paths {
		e := l[p]
		if !validPath(p) {
			return res, fmt.Errorf("%q is not a package folder in node_modules; refusing to install there", p)
		}
		if e.Resolved != "" && !strings.HasPrefix(e.Resolved, "https://") && !strings.HasPrefix(e.Resolved, "http://") {
			return res, fmt.Errorf("%s comes from %s; only registry packages (http and https tarballs) can be installed: "+
				"commit node_modules instead", e.label(), e.Resolved)
		}
		if e.Optional && !platformOK(e.OS, e.CPU) {
			in.opts.Log("DEBUG", fmt.Sprintf("skipping optional %s: it is for os %v, cpu %v", e.label(), e.OS, e.CPU))
			delete(l, p)
			continue
		}
		if !replaced[parentPath(p)] {
			if name, version, err := readPackageJSON(filepath.Join(in.opts.Dir, filepath.FromSlash(p))); err == nil &&
				name == e.Name && version == e.Version {
				res.Present++
				continue
			}
		}
		replaced[p] = true // and with it whatever is nested in it
		todo = append(todo, e)
	}
	got := in.fetchAll(ctx, todo)
	for _, e := range todo {
		f := got[e]
		if f.err == nil {
			if why := installScript(f.files); why != "" {
				f.err = fmt.Errorf("%s needs to run code when installed, and this worker has no Node.js: %s. "+
					"Use a pure-JavaScript package instead, or commit a node_modules built elsewhere", e.label(), why)
			}
		}
		if f.err != nil {
			if e.Optional && ctx.Err() == nil {
				in.opts.Log("WARN", fmt.Sprintf("skipping optional %s: %v", e.label(), f.err))
				continue
			}
			return res, f.err
		}
		dest := filepath.Join(in.opts.Dir, filepath.FromSlash(e.Path))
		if err := checkNoLinks(in.opts.Dir, e.Path); err != nil {
			return res, err
		}
		if err := os.RemoveAll(dest); err != nil {
			return res, fmt.Errorf("replacing %s: %w", e.Path, err)
		}
		if err := writeFiles(dest, f.files); err != nil {
			return res, fmt.Errorf("unpacking %s: %w", e.label(), err)
		}
		if f.cached {
			res.FromCache++
			in.opts.Log("DEBUG", fmt.Sprintf("%s: from the cache", e.label()))
		} else {
			res.Downloaded++
			in.opts.Log("DEBUG", fmt.Sprintf("%s: downloaded", e.label()))
		}
	}
	res.Packages = res.Present + res.FromCache + res.Downloaded
	return res, nil
}

// fetchAll gets the tarballs of the entries, from the cache or the
// registry, a few at a time.
func (in *installer) fetchAll(ctx context.Context, todo []*entry) map[*entry]fetched {
	out := make(map[*entry]fetched, len(todo))
	var mu sync.Mutex
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, e := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f := in.fetch(ctx, e)
			mu.Lock()
			out[e] = f
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (in *installer) fetch(ctx context.Context, e *entry) fetched {
	data, cached := in.cache.get(e.Integrity)
	if !cached {
		if err := ctx.Err(); err != nil {
			return fetched{err: err}
		}
		u := in.reg.tarballURL(e.Name, e.Version, e.Resolved)
		var err error
		if data, err = in.reg.tarball(ctx, u); err != nil {
			return fetched{err: fmt.Errorf("downloading %s: %w", e.label(), err)}
		}
		if e.Integrity.IsZero() {
			in.opts.Log("WARN", fmt.Sprintf("%s has no integrity recorded; it is not verified", e.label()))
		} else if err := e.Integrity.Check(data); err != nil {
			return fetched{err: fmt.Errorf("%s from %s: %w", e.label(), u, err)}
		}
		in.cache.put(e.Integrity, data)
	}
	files, err := readTarball(data)
	if err != nil {
		return fetched{err: fmt.Errorf("%s: %w", e.label(), err)}
	}
	return fetched{files: files, cached: cached}
}

// checkNoLinks refuses to install through a symbolic link: node_modules or
// a package folder on the way to rel that a user committed as a link
// could point anywhere.
func checkNoLinks(dir, rel string) error {
	p := dir
	for _, part := range strings.Split(rel, "/") {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symbolic link; refusing to install packages through it (remove it from the config folder)", p)
		}
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
