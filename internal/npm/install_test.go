package npm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/npm"
	"github.com/brigadeplatform/brigade/internal/npm/npmtest"
)

// logs collects an install's log lines.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) log(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+msg)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// project writes a config folder with the given files.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// npmrc points the default registry at reg.
func npmrc(reg *npmtest.Registry) string { return "registry=" + reg.URL + "\n" }

// installed returns "name@version" of the package in dir/<rel>, as its
// index.js (made by npmtest) says, or "" when it is not there.
func installed(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel, "index.js"))
	if err != nil {
		return ""
	}
	s := strings.TrimSuffix(strings.TrimPrefix(string(b), `module.exports = "`), "\";\n")
	return s
}

// conflictRegistry: a@1 needs b@^1 and c@^1; b@2 needs c@^1.
func conflictRegistry(t *testing.T) *npmtest.Registry {
	reg := npmtest.New(t)
	reg.Publish(
		npmtest.Package{Name: "a", Version: "1.0.0", Deps: map[string]string{"b": "^1.0.0", "c": "^1.0.0"}},
		npmtest.Package{Name: "b", Version: "1.0.0"},
		npmtest.Package{Name: "b", Version: "1.1.0", Deps: map[string]string{"c": "^1.0.0"}},
		npmtest.Package{Name: "b", Version: "2.0.0"},
		npmtest.Package{Name: "b", Version: "2.1.0", Deps: map[string]string{"c": "^1.0.0"}},
		npmtest.Package{Name: "c", Version: "1.0.0"},
		npmtest.Package{Name: "c", Version: "1.2.0"},
		npmtest.Package{Name: "@scope/d", Version: "0.1.0", Deps: map[string]string{"b": "^1.1.0"}},
	)
	return reg
}

func TestInstallResolvesPackageJSON(t *testing.T) {
	reg := conflictRegistry(t)
	dir := project(t, map[string]string{
		".npmrc":       npmrc(reg),
		"package.json": `{"dependencies": {"a": "^1.0.0", "b": "^2.0.0", "@scope/d": "~0.1", "@brigadecore/brigadier": "^2.5.0"}, "devDependencies": {"nope": "1"}}`,
	})
	var l logs
	res, err := npm.Install(t.Context(), npm.Options{Dir: dir, Log: l.log})
	if err != nil {
		t.Fatalf("%v\n%s", err, &l)
	}
	for rel, want := range map[string]string{
		"node_modules/a":                       "a@1.0.0",
		"node_modules/b":                       "b@2.1.0", // highest in ^2, at the top
		"node_modules/c":                       "c@1.2.0", // shared, hoisted once
		"node_modules/@scope/d":                "@scope/d@0.1.0",
		"node_modules/a/node_modules/b":        "b@1.1.0", // conflicts with the top one: nested
		"node_modules/@scope/d/node_modules/b": "b@1.1.0",
		"node_modules/@brigadecore/brigadier":  "",
		"node_modules/nope":                    "",
	} {
		if got := installed(t, dir, rel); got != want {
			t.Errorf("%s holds %q, want %q\n%s", rel, got, want, &l)
		}
	}
	if res.Packages != 6 || res.Downloaded != 6 {
		t.Errorf("result = %+v", res)
	}
	if !strings.Contains(l.String(), "installed 6 packages (0 from cache, 6 downloaded)") {
		t.Errorf("log:\n%s", &l)
	}
}

func TestInstallFromPackageLockAndCache(t *testing.T) {
	reg := conflictRegistry(t)
	roots := map[string]string{"a": "^1.0.0", "b": "^2.0.0"}
	files := map[string]string{
		".npmrc":       npmrc(reg),
		"package.json": `{"dependencies": {"a": "^1.0.0", "b": "^2.0.0"}}`,
		// The lock pins older versions than the registry's newest:
		// they, not the newest, must be installed.
		"package-lock.json": reg.LockV3(roots, map[string]string{
			"node_modules/a":                "a@1.0.0",
			"node_modules/b":                "b@2.0.0",
			"node_modules/c":                "c@1.0.0",
			"node_modules/a/node_modules/b": "b@1.0.0",
		}),
	}
	cacheDir := t.TempDir()
	var l logs
	dir := project(t, files)
	res, err := npm.Install(t.Context(), npm.Options{Dir: dir, CacheDir: cacheDir, Log: l.log})
	if err != nil {
		t.Fatalf("%v\n%s", err, &l)
	}
	if got := installed(t, dir, "node_modules/b"); got != "b@2.0.0" {
		t.Errorf("top b = %q", got)
	}
	if got := installed(t, dir, "node_modules/a/node_modules/b"); got != "b@1.0.0" {
		t.Errorf("nested b = %q", got)
	}
	if res.Downloaded != 4 || reg.Documents() != 0 {
		t.Errorf("result %+v, %d documents fetched (a lockfile needs none)", res, reg.Documents())
	}
	// A second event: a fresh folder, the same cache. Nothing is downloaded.
	var l2 logs
	dir2 := project(t, files)
	res, err = npm.Install(t.Context(), npm.Options{Dir: dir2, CacheDir: cacheDir, Log: l2.log})
	if err != nil {
		t.Fatal(err)
	}
	if res.FromCache != 4 || res.Downloaded != 0 || reg.Downloads() != 4 {
		t.Errorf("second install: %+v, %d downloads in all", res, reg.Downloads())
	}
	if !strings.Contains(l2.String(), "installed 4 packages (4 from cache, 0 downloaded)") {
		t.Errorf("log:\n%s", &l2)
	}
	if got := installed(t, dir2, "node_modules/a/node_modules/b"); got != "b@1.0.0" {
		t.Errorf("nested b from the cache = %q", got)
	}
	// The same folder again: everything is already there.
	res, err = npm.Install(t.Context(), npm.Options{Dir: dir2, CacheDir: cacheDir})
	if err != nil || !res.Skipped {
		t.Errorf("a complete node_modules must be kept: %+v %v", res, err)
	}
}

func TestInstallLockfileVersions(t *testing.T) {
	reg := npmtest.New(t)
	reg.Publish(npmtest.Package{Name: "a", Version: "1.0.0", Deps: map[string]string{"b": "1.0.0"}},
		npmtest.Package{Name: "b", Version: "1.0.0"}, npmtest.Package{Name: "dev", Version: "1.0.0"})
	ia, ib, idev := reg.Integrity("a", "1.0.0"), reg.Integrity("b", "1.0.0"), reg.Integrity("dev", "1.0.0")
	v1 := fmt.Sprintf(`{"lockfileVersion": 1, "dependencies": {
		"a": {"version": "1.0.0", "resolved": %q, "integrity": %q, "requires": {"b": "1.0.0"}},
		"b": {"version": "1.0.0", "resolved": %q, "integrity": %q},
		"dev": {"version": "1.0.0", "resolved": %q, "integrity": %q, "dev": true}}}`,
		reg.TarballURL("a", "1.0.0"), ia, reg.TarballURL("b", "1.0.0"), ib, reg.TarballURL("dev", "1.0.0"), idev)
	v2 := fmt.Sprintf(`{"lockfileVersion": 2, "packages": {"": {},
		"node_modules/a": {"version": "1.0.0", "resolved": %q, "integrity": %q, "dependencies": {"b": "1.0.0"}},
		"node_modules/b": {"version": "1.0.0", "integrity": %q},
		"node_modules/@brigadecore/brigadier": {"version": "2.5.0", "resolved": "http://127.0.0.1:9/nowhere.tgz", "dependencies": {"typescript": "4.4.3"}},
		"node_modules/typescript": {"version": "4.4.3", "resolved": "http://127.0.0.1:9/nowhere.tgz"},
		"node_modules/dev": {"version": "1.0.0", "resolved": %q, "integrity": %q, "dev": true}}}`,
		reg.TarballURL("a", "1.0.0"), ia, ib, reg.TarballURL("dev", "1.0.0"), idev)
	yarn := fmt.Sprintf("# yarn lockfile v1\n\n\na@^1.0.0:\n  version \"1.0.0\"\n  resolved %q\n  integrity %s\n  dependencies:\n    b \"1.0.0\"\n\nb@1.0.0:\n  version \"1.0.0\"\n  resolved \"%s#0\"\n  integrity %s\n",
		reg.TarballURL("a", "1.0.0"), ia, reg.TarballURL("b", "1.0.0"), ib)
	for name, lock := range map[string][2]string{
		"v1": {"package-lock.json", v1}, "v2": {"package-lock.json", v2}, "shrinkwrap": {"npm-shrinkwrap.json", v2},
		"yarn": {"yarn.lock", yarn},
	} {
		t.Run(name, func(t *testing.T) {
			var l logs
			dir := project(t, map[string]string{".npmrc": npmrc(reg), lock[0]: lock[1],
				"package.json": `{"dependencies": {"a": "^1.0.0", "@brigadecore/brigadier": "^2.5.0"}, "devDependencies": {"dev": "1"}}`})
			if _, err := npm.Install(t.Context(), npm.Options{Dir: dir, Log: l.log}); err != nil {
				t.Fatalf("%v\n%s", err, &l)
			}
			if installed(t, dir, "node_modules/a") != "a@1.0.0" || installed(t, dir, "node_modules/b") != "b@1.0.0" {
				t.Errorf("not installed:\n%s", &l)
			}
			if installed(t, dir, "node_modules/dev") != "" {
				t.Error("devDependencies must not be installed (the original worker ran install --prod)")
			}
			if !strings.Contains(l.String(), "installing dependencies from "+lock[0]) {
				t.Errorf("log:\n%s", &l)
			}
		})
	}
}

func TestInstallStaleLockResolves(t *testing.T) {
	reg := conflictRegistry(t)
	dir := project(t, map[string]string{
		".npmrc":            npmrc(reg),
		"package.json":      `{"dependencies": {"b": "^2.0.0"}}`,
		"package-lock.json": reg.LockV3(map[string]string{"b": "^1.0.0"}, map[string]string{"node_modules/b": "b@1.0.0"}),
	})
	var l logs
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir, Log: l.log}); err != nil {
		t.Fatal(err)
	}
	if got := installed(t, dir, "node_modules/b"); got != "b@2.1.0" {
		t.Errorf("b = %q", got)
	}
	if !strings.Contains(l.String(), "does not match package.json (b@1.0.0 is not ^2.0.0)") {
		t.Errorf("log:\n%s", &l)
	}
}

func TestInstallIntegrityMismatch(t *testing.T) {
	reg := conflictRegistry(t)
	lock := strings.Replace(reg.LockV3(map[string]string{"c": "^1"}, map[string]string{"node_modules/c": "c@1.0.0"}),
		reg.Integrity("c", "1.0.0"), reg.Integrity("c", "1.2.0"), 1)
	cacheDir := t.TempDir()
	dir := project(t, map[string]string{".npmrc": npmrc(reg), "package.json": `{"dependencies": {"c": "^1"}}`, "package-lock.json": lock})
	_, err := npm.Install(t.Context(), npm.Options{Dir: dir, CacheDir: cacheDir})
	if err == nil || !strings.Contains(err.Error(), "c@1.0.0 (node_modules/c)") || !strings.Contains(err.Error(), "integrity check failed") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "c")); err == nil {
		t.Error("a package that failed its check must not be unpacked")
	}
	if entries, _ := os.ReadDir(filepath.Join(cacheDir, "tarballs")); len(entries) != 0 {
		t.Errorf("a package that failed its check must not be cached: %v", entries)
	}
}

func TestInstallScriptsRefused(t *testing.T) {
	reg := npmtest.New(t)
	reg.Publish(
		npmtest.Package{Name: "native", Version: "1.0.0", Scripts: map[string]string{"postinstall": "node-gyp rebuild"}},
		npmtest.Package{Name: "gyp", Version: "1.0.0", Files: map[string]string{"binding.gyp": "{}"}},
		npmtest.Package{Name: "plain", Version: "1.0.0", Scripts: map[string]string{"test": "mocha"}},
	)
	for name, want := range map[string]string{"native": `scripts.postinstall: "node-gyp rebuild"`, "gyp": "binding.gyp"} {
		dir := project(t, map[string]string{".npmrc": npmrc(reg), "package.json": `{"dependencies": {"` + name + `": "1"}}`})
		_, err := npm.Install(t.Context(), npm.Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), name+"@1.0.0") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// An optional one is skipped with a warning instead.
	var l logs
	dir := project(t, map[string]string{".npmrc": npmrc(reg),
		"package.json": `{"dependencies": {"plain": "1"}, "optionalDependencies": {"native": "1"}}`})
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir, Log: l.log}); err != nil {
		t.Fatal(err)
	}
	if installed(t, dir, "node_modules/plain") != "plain@1.0.0" || installed(t, dir, "node_modules/native") != "" ||
		!strings.Contains(l.String(), "WARN: skipping optional native@1.0.0") {
		t.Errorf("log:\n%s", &l)
	}
}

func TestInstallNpmrcToken(t *testing.T) {
	reg := conflictRegistry(t)
	reg.Token = "s3cret"
	host := strings.TrimPrefix(reg.URL, "http:")
	pj := `{"dependencies": {"c": "^1"}}`
	dir := project(t, map[string]string{".npmrc": npmrc(reg) + host + ":_authToken=${NPM_TOKEN}\n", "package.json": pj})
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir, Env: map[string]string{"NPM_TOKEN": "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	if got := installed(t, dir, "node_modules/c"); got != "c@1.2.0" {
		t.Errorf("c = %q", got)
	}
	dir = project(t, map[string]string{".npmrc": npmrc(reg) + host + ":_authToken=wrong\n", "package.json": pj})
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "401") ||
		!strings.Contains(err.Error(), "_authToken") {
		t.Errorf("wrong token: %v", err)
	}
	dir = project(t, map[string]string{".npmrc": npmrc(reg) + host + ":_authToken=${NPM_TOKEN}\n", "package.json": pj})
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "${NPM_TOKEN} is not set") {
		t.Errorf("unset token: %v", err)
	}
}

func TestInstallKeepsCommittedNodeModules(t *testing.T) {
	reg := conflictRegistry(t)
	dir := project(t, map[string]string{
		".npmrc":                      npmrc(reg),
		"package.json":                `{"dependencies": {"c": "^1"}}`,
		"node_modules/c/package.json": `{"name": "c", "version": "1.0.0"}`,
		"node_modules/c/index.js":     `module.exports = "committed";` + "\n",
	})
	var l logs
	res, err := npm.Install(t.Context(), npm.Options{Dir: dir, Log: l.log})
	if err != nil || !res.Skipped || reg.Documents()+reg.Downloads() != 0 {
		t.Fatalf("res %+v, err %v, log:\n%s", res, err, &l)
	}
	// A committed node_modules that lacks what package.json asks for gets
	// the missing packages; what it has in the right version stays.
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"dependencies": {"c": "^1", "b": "^2"}}`), 0o644)
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir, Log: l.log}); err != nil {
		t.Fatal(err)
	}
	if got := installed(t, dir, "node_modules/b"); got != "b@2.1.0" {
		t.Errorf("b = %q", got)
	}
}

func TestInstallNothingToDo(t *testing.T) {
	for _, files := range []map[string]string{
		{},
		{"package.json": `{"devDependencies": {"x": "1"}}`},
		{"package.json": `{"dependencies": {"@brigadecore/brigadier": "^2"}}`},
	} {
		res, err := npm.Install(t.Context(), npm.Options{Dir: project(t, files)})
		if err != nil || !res.Skipped {
			t.Errorf("%v: %+v %v", files, res, err)
		}
	}
	_, err := npm.Install(t.Context(), npm.Options{Dir: project(t, map[string]string{"package.json": `{`})})
	if err == nil || !strings.Contains(err.Error(), "package.json is not valid JSON") {
		t.Errorf("bad package.json: %v", err)
	}
	_, err = npm.Install(t.Context(), npm.Options{Dir: project(t, map[string]string{"package.json": `{"dependencies": {"a": 1}}`})})
	if err == nil || err.Error() != "package.json: dependencies must map package names to version ranges (strings)" {
		t.Errorf("bad dependencies: %v", err)
	}
}

func TestInstallUnknownPackage(t *testing.T) {
	reg := conflictRegistry(t)
	dir := project(t, map[string]string{".npmrc": npmrc(reg), "package.json": `{"dependencies": {"a": "^1", "zzz": "^1"}}`})
	_, err := npm.Install(t.Context(), npm.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "package zzz is not in the registry") {
		t.Errorf("err = %v", err)
	}
	dir = project(t, map[string]string{".npmrc": npmrc(reg), "package.json": `{"dependencies": {"a": "^7"}}`})
	_, err = npm.Install(t.Context(), npm.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), `no version matches "^7"`) {
		t.Errorf("err = %v", err)
	}
}

// TestInstallRealRegistry installs a tiny package from registry.npmjs.org.
func TestInstallRealRegistry(t *testing.T) {
	if os.Getenv("BRIGADE_TEST_NPM") != "1" {
		t.Skip("set BRIGADE_TEST_NPM=1 to install from https://registry.npmjs.org")
	}
	cacheDir := t.TempDir()
	for i, want := range []string{"0 from cache", "downloaded 0"} {
		dir := project(t, map[string]string{"package.json": `{"dependencies": {"is-thirteen": "2.0.0"}}`})
		var l logs
		res, err := npm.Install(t.Context(), npm.Options{Dir: dir, CacheDir: cacheDir, Log: l.log})
		if err != nil {
			t.Fatalf("%v\n%s", err, &l)
		}
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "is-thirteen", "package.json")); err != nil ||
			(i == 0) != (res.Downloaded > 0) {
			t.Errorf("install %d (want %s): %+v, %v\n%s", i+1, want, res, err, &l)
		}
		t.Logf("install %d:\n%s", i+1, &l)
	}
}

func TestInstallStopsWithContext(t *testing.T) {
	reg := conflictRegistry(t)
	dir := project(t, map[string]string{".npmrc": npmrc(reg), "package.json": `{"dependencies": {"a": "^1"}}`})
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the worker's timeout, or a cancel, came first
	if _, err := npm.Install(ctx, npm.Options{Dir: dir}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestInstallRefusesGitDependencies(t *testing.T) {
	lock := `{"lockfileVersion": 3, "packages": {"": {}, "node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/a/g.git#abc"}}}`
	dir := project(t, map[string]string{"package.json": `{"dependencies": {"g": "1.0.0"}}`, "package-lock.json": lock})
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "g@1.0.0 (node_modules/g) comes from git+ssh") {
		t.Errorf("err = %v", err)
	}
	dir = project(t, map[string]string{"package.json": `{"dependencies": {"g": "github:a/g"}}`})
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "git, file and URL dependencies are not supported") {
		t.Errorf("err = %v", err)
	}
}

// TestInstallRevalidatesDocuments: without a lockfile, the next install
// asks whether the cached package documents changed (304, no body), and
// uses them as they are when the registry is down.
func TestInstallRevalidatesDocuments(t *testing.T) {
	reg := conflictRegistry(t)
	files := map[string]string{".npmrc": npmrc(reg), "package.json": `{"dependencies": {"a": "^1"}}`}
	cacheDir := t.TempDir()
	if _, err := npm.Install(t.Context(), npm.Options{Dir: project(t, files), CacheDir: cacheDir}); err != nil {
		t.Fatal(err)
	}
	docs, downloads := reg.Documents(), reg.Downloads()
	res, err := npm.Install(t.Context(), npm.Options{Dir: project(t, files), CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Documents() != docs || reg.NotModified() != docs || reg.Downloads() != downloads || res.FromCache != 3 {
		t.Errorf("second install: %+v; %d documents then %d, %d answered 304, %d downloads then %d",
			res, docs, reg.Documents(), reg.NotModified(), downloads, reg.Downloads())
	}
	reg.SetDown(true)
	var l logs
	dir := project(t, files)
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir, CacheDir: cacheDir, Log: l.log}); err != nil {
		t.Fatalf("with the registry down: %v\n%s", err, &l)
	}
	if installed(t, dir, "node_modules/a") != "a@1.0.0" || !strings.Contains(l.String(), "WARN: using the cached package document of a") {
		t.Errorf("log:\n%s", &l)
	}
	// Without a cache, a registry that is down fails the install.
	_, err = npm.Install(t.Context(), npm.Options{Dir: project(t, files)})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("err = %v", err)
	}
}

func TestInstallRefusesPathsOutsideNodeModules(t *testing.T) {
	reg := conflictRegistry(t)
	lock := `{"lockfileVersion": 3, "packages": {"": {}, "node_modules/c": {"version": "1.0.0", "dependencies": {"../../escape": "1"}},
		"node_modules/../../escape": {"version": "1.0.0"}}}`
	dir := project(t, map[string]string{".npmrc": npmrc(reg), "package.json": `{"dependencies": {"c": "1.0.0"}}`, "package-lock.json": lock})
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "is not a package folder") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "..", "escape")); err == nil {
		t.Error("a package was written outside the config folder")
	}
}

// TestInstallScopedRegistryAndMirror: a scope's packages come from its own
// registry with its own token; lockfile URLs of the public registries are
// fetched from the configured one instead (a mirror).
func TestInstallScopedRegistryAndMirror(t *testing.T) {
	public := conflictRegistry(t)
	corp := npmtest.New(t)
	corp.Token = "corp-token"
	corp.Publish(npmtest.Package{Name: "@corp/tool", Version: "1.0.0", Deps: map[string]string{"c": "^1"}})
	lock := strings.ReplaceAll(public.LockV3(map[string]string{"c": "1.0.0"}, map[string]string{"node_modules/c": "c@1.0.0"}),
		public.URL, "https://registry.npmjs.org/")
	rc := npmrc(public) + "@corp:registry=" + corp.URL + "\n" + strings.TrimPrefix(corp.URL, "http:") + ":_authToken=corp-token\n"
	dir := project(t, map[string]string{".npmrc": rc, "package.json": `{"dependencies": {"c": "1.0.0"}}`, "package-lock.json": lock})
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if installed(t, dir, "node_modules/c") != "c@1.0.0" || public.Downloads() != 1 {
		t.Errorf("the lockfile's registry.npmjs.org URL was not fetched from the configured registry (%d downloads)", public.Downloads())
	}
	dir = project(t, map[string]string{".npmrc": rc, "package.json": `{"dependencies": {"@corp/tool": "^1"}}`})
	if _, err := npm.Install(t.Context(), npm.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if installed(t, dir, "node_modules/@corp/tool") != "@corp/tool@1.0.0" || installed(t, dir, "node_modules/c") != "c@1.2.0" {
		t.Error("the scoped package or its public dependency is missing")
	}
}
