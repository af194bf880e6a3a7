package js

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
)

const reusedLine = "its bundle is reused"

// forgetBundles empties the cache, so that a test (run again with -count)
// starts from nothing kept.
func forgetBundles() {
	bundles.Lock()
	defer bundles.Unlock()
	clear(bundles.m)
}

// buildIn writes files into a fresh folder and bundles its script, logging
// at DEBUG; it returns the bundle and whether it came from the cache.
func buildIn(t *testing.T, files map[string]string) (*bundle, bool) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	if _, ok := standalone(dir, entryOf(files)); !ok && files["package.json"] == "" && files["tsconfig.json"] == "" {
		t.Skipf("a folder above %s holds a package.json, tsconfig.json or jsconfig.json", dir)
	}
	var out bytes.Buffer
	s, err := newSession(Options{Dir: dir, Host: instantHost{}, Stdout: &out, LogLevel: "DEBUG"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := build(dir, s)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	return b, strings.Contains(out.String(), reusedLine)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// freshBuild bundles dir's script with esbuild, bypassing the cache.
func freshBuild(t *testing.T, dir, entry string) string {
	t.Helper()
	opts := buildOptions(dir)
	entryInput(&opts, dir, entry)
	res := api.Build(opts)
	if len(res.Errors) > 0 || len(res.OutputFiles) == 0 {
		t.Fatalf("esbuild: %v", res.Errors)
	}
	return string(res.OutputFiles[0].Contents)
}

// TestBundleCacheReusesSelfContainedScripts: the same script in another
// folder (the next event's) gets the kept bundle, which is what esbuild
// would have made there; any change to the script gives a fresh one.
func TestBundleCacheReusesSelfContainedScripts(t *testing.T) {
	forgetBundles()
	script := "const { events } = require(\"@brigadecore/brigadier\");\nconst fs = require(\"fs\");\n" +
		"events.on(\"a\", \"b\", async e => console.log(e?.id ?? \"" + t.Name() + "\", typeof fs));\n"
	first, hit := buildIn(t, map[string]string{"brigade.js": script})
	if hit {
		t.Fatal("the first build came from the cache")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"brigade.js": script})
	again, hit := buildIn(t, map[string]string{"brigade.js": script})
	if !hit || again != first {
		t.Fatalf("the same script was bundled again (logged reuse: %v)", hit)
	}
	if want := freshBuild(t, dir, "brigade.js"); again.code != want {
		t.Errorf("the kept bundle differs from a fresh build in another folder:\nkept:\n%s\nfresh:\n%s", again.code, want)
	}
	p1, err := first.program()
	if err != nil {
		t.Fatal(err)
	}
	if p2, _ := again.program(); p2 != p1 {
		t.Error("the kept bundle was compiled again")
	}

	changed, hit := buildIn(t, map[string]string{"brigade.js": script + "console.log(2);\n"})
	if hit || changed.code == first.code {
		t.Errorf("a changed script got the kept bundle (logged reuse: %v)", hit)
	}
}

// TestBundleCacheKeysTheEntryName: the same contents as brigade.ts are
// bundled as brigade.ts (their source map names it), not served from
// brigade.js's bundle.
func TestBundleCacheKeysTheEntryName(t *testing.T) {
	forgetBundles()
	script := "console.log(\"" + t.Name() + "\", 1);\n"
	if _, hit := buildIn(t, map[string]string{"brigade.js": script}); hit {
		t.Fatal("the first build came from the cache")
	}
	b, hit := buildIn(t, map[string]string{"brigade.ts": script})
	if hit || b.entry != "brigade.ts" {
		t.Errorf("brigade.ts: entry %s, logged reuse: %v", b.entry, hit)
	}
}

// TestBundleCacheKeysEveryOption: a change to any build option, but the
// folder, changes the key.
func TestBundleCacheKeysEveryOption(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"brigade.js": "console.log(1);\n"})
	base := buildOptions(dir)
	entryInput(&base, dir, "brigade.js")
	if base.Stdin == nil {
		t.Skip("a folder above holds a project file")
	}
	k0, ok := cacheKey(base, "brigade.js")
	if !ok {
		t.Fatal("a standalone script cannot be cached")
	}
	other := buildOptions(t.TempDir())
	entryInput(&other, dir, "brigade.js")
	other.Stdin.ResolveDir = other.AbsWorkingDir
	if k, _ := cacheKey(other, "brigade.js"); k != k0 {
		t.Error("another folder changed the key")
	}
	changes := map[string]func(o *api.BuildOptions){
		"Target":         func(o *api.BuildOptions) { o.Target = api.ES2020 },
		"Format":         func(o *api.BuildOptions) { o.Format = api.FormatESModule },
		"External":       func(o *api.BuildOptions) { o.External = append(o.External, "left-out") },
		"Supported":      func(o *api.BuildOptions) { o.Supported = map[string]bool{"bigint": false} },
		"Sourcemap":      func(o *api.BuildOptions) { o.Sourcemap = api.SourceMapNone },
		"KeepNames":      func(o *api.BuildOptions) { o.KeepNames = false },
		"Define":         func(o *api.BuildOptions) { o.Define = map[string]string{"X": "1"} },
		"Outfile":        func(o *api.BuildOptions) { o.Outfile = "other.js" },
		"Stdin.Loader":   func(o *api.BuildOptions) { o.Stdin.Loader = api.LoaderTS },
		"Stdin.Source":   func(o *api.BuildOptions) { o.Stdin.Sourcefile = "other.js" },
		"Stdin.Contents": func(o *api.BuildOptions) { o.Stdin.Contents += " " },
	}
	for name, change := range changes {
		o := buildOptions(dir)
		entryInput(&o, dir, "brigade.js")
		change(&o)
		if k, _ := cacheKey(o, "brigade.js"); k == k0 {
			t.Errorf("changing %s kept the key", name)
		}
	}
	if k, _ := cacheKey(base, "brigade.ts"); k == k0 {
		t.Error("another entry name kept the key")
	}
	if got, want := optionsFingerprint(buildOptions("")), fmt.Sprintf("%#v", buildOptions("")); got != want {
		t.Errorf("the usual options' fingerprint %q, printed %q", got, want)
	}
	file := buildOptions(dir)
	file.EntryPoints = []string{"brigade.js"}
	if _, ok := cacheKey(file, "brigade.js"); ok {
		t.Error("a build of the entry as a file (not standalone) can be cached")
	}
}

// TestBundleCacheSkipsScriptsWithInputs: a script that imports its own
// files, JSON or packages is bundled afresh every time, so that a change to
// any of them (or a new file that resolves first) is seen.
func TestBundleCacheSkipsScriptsWithInputs(t *testing.T) {
	forgetBundles()
	cases := map[string]struct {
		files  map[string]string
		change map[string]string // files of the second run that differ
		want   string            // in the second bundle
	}{
		"relative file": {
			files:  map[string]string{"lib/greet.js": "exports.g = () => \"hello\";\n"},
			change: map[string]string{"lib/greet.js": "exports.g = () => \"changed\";\n"},
			want:   "changed",
		},
		"a file that resolves first": {
			files:  map[string]string{"lib/greet.js": "exports.g = () => \"hello\";\n"},
			change: map[string]string{"lib/greet.ts": "export const g = (): string => \"from ts\";\n"},
			want:   "from ts",
		},
		"package": {
			files:  map[string]string{"node_modules/greet/index.js": "exports.g = () => \"hello\";\n"},
			change: map[string]string{"node_modules/greet/index.js": "exports.g = () => \"new version\";\n"},
			want:   "new version",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			imp := "./lib/greet"
			if name == "package" {
				imp = "greet"
			}
			script := "const { g } = require(\"" + imp + "\");\nconsole.log(g(), \"" + t.Name() + "\");\n"
			files := map[string]string{"brigade.js": script}
			for k, v := range c.files {
				files[k] = v
			}
			if _, hit := buildIn(t, files); hit {
				t.Fatal("the first build came from the cache")
			}
			for k, v := range c.change {
				files[k] = v
			}
			b, hit := buildIn(t, files)
			if hit || !strings.Contains(b.code, c.want) {
				t.Errorf("the second build (logged reuse: %v) lacks %q:\n%s", hit, c.want, b.code)
			}
		})
	}
}

// TestBundleCacheSkipsProjectFiles: with a tsconfig.json or package.json
// next to it, the same script is not served from the cache (those files
// can change how it compiles).
func TestBundleCacheSkipsProjectFiles(t *testing.T) {
	forgetBundles()
	script := "console.log(\"" + t.Name() + "\");\n"
	if _, hit := buildIn(t, map[string]string{"brigade.js": script}); hit {
		t.Fatal("the first build came from the cache")
	}
	for _, f := range []string{"tsconfig.json", "package.json"} {
		if _, hit := buildIn(t, map[string]string{"brigade.js": script, f: "{}\n"}); hit {
			t.Errorf("with %s, the script's bundle came from the cache", f)
		}
	}
}

// TestSelfContained reads esbuild's metafile as the cache needs.
func TestSelfContained(t *testing.T) {
	cases := map[string]bool{
		`{"inputs":{"brigade.js":{"imports":[{"path":"fs","external":true}]}}}`:                      true,
		`{"inputs":{"brigade.js":{"imports":[]}}}`:                                                   true,
		`{"inputs":{"brigade.js":{"imports":[{"path":"lib.js"}]},"lib.js":{"imports":[]}}}`:          false,
		`{"inputs":{"brigade.js":{"imports":[{"path":"data:text/javascript,1","external":false}]}}}`: false,
		`{"inputs":{}}`: false,
		`not json`:      false,
	}
	for meta, want := range cases {
		if got := selfContained(meta); got != want {
			t.Errorf("selfContained(%s) = %v, want %v", meta, got, want)
		}
	}
}

func entryOf(files map[string]string) string {
	if _, ok := files["brigade.ts"]; ok {
		return "brigade.ts"
	}
	return "brigade.js"
}
