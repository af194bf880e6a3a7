package js

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/dop251/goja"
	"github.com/evanw/esbuild/pkg/api"
)

// A standby worker (package standby) runs many events in one process, often
// of the same project with the same script. Bundling that script again is
// most of what esbuild costs an event (it parses its own runtime helpers on
// every build), so the bundles of self-contained scripts are kept for the
// next run, together with goja's compiled program.
//
// Only a build that read nothing but the entry is kept, which is when the
// bundle is decided by things the key holds:
//
//   - the entry was handed to esbuild as stdin (standalone: no package.json,
//     tsconfig.json or jsconfig.json in its folder or any folder above, which
//     is checked again on every run before the cache is asked);
//   - every import esbuild saw was external (a brigadier module, a Node
//     built-in): no relative file, package, JSON file or data: URL was
//     resolved, so no file that could appear, change or go away later had a
//     say in the output;
//   - the key holds the entry's name (its loader and source name), a hash of
//     its contents, and every build option except the folder, which does not
//     reach the output of such a build (the source map names the entry
//     relative to it).
//
// Anything else (a script that imports its own files or packages) is bundled
// afresh on every run, as before.

// maxCachedBundles bounds the cache: a standby may run events of many
// projects. Once full, it is emptied and fills again.
const maxCachedBundles = 16

// maxCachedScript is the largest entry kept (its bundle and program are a
// few times its size).
const maxCachedScript = 512 << 10

// bundleKey is everything that decides the bundle of a self-contained script.
type bundleKey struct {
	options string // the build options with the folder and stdin left out
	entry   string // brigade.ts or brigade.js
	loader  api.Loader
	sum     [sha256.Size]byte // the entry's contents
}

// cachedBundle is a kept build: the bundle, and the warnings esbuild gave,
// which each run that uses it logs again.
type cachedBundle struct {
	b        *bundle
	warnings []api.Message
}

var bundles = struct {
	sync.Mutex
	m map[bundleKey]cachedBundle
}{m: map[bundleKey]cachedBundle{}}

// cacheKey returns the key of a build whose entry is stdin, and whether the
// build may be cached at all.
func cacheKey(opts api.BuildOptions, entry string) (bundleKey, bool) {
	in := opts.Stdin
	if in == nil || len(in.Contents) > maxCachedScript {
		return bundleKey{}, false
	}
	rest := opts
	rest.AbsWorkingDir = ""
	rest.Stdin = nil
	return bundleKey{
		options: optionsFingerprint(rest) + "|" + in.Sourcefile,
		entry:   entry,
		loader:  in.Loader,
		sum:     sha256.Sum256([]byte(in.Contents)),
	}, true
}

// optionsFingerprint renders build options as a key. Printing them costs
// tens of microseconds, so the usual ones (buildOptions', the folder left
// out) are printed once per process; any others are printed each time.
func optionsFingerprint(o api.BuildOptions) string {
	usual, printed := usualOptions()
	if reflect.DeepEqual(o, usual) {
		return printed
	}
	return fmt.Sprintf("%#v", o)
}

var usualOptions = sync.OnceValues(func() (api.BuildOptions, string) {
	o := buildOptions("")
	return o, fmt.Sprintf("%#v", o)
})

func cachedBuild(k bundleKey) (cachedBundle, bool) {
	bundles.Lock()
	defer bundles.Unlock()
	c, ok := bundles.m[k]
	return c, ok
}

func keepBuild(k bundleKey, c cachedBundle) {
	bundles.Lock()
	defer bundles.Unlock()
	if len(bundles.m) >= maxCachedBundles {
		clear(bundles.m)
	}
	bundles.m[k] = c
}

// selfContained reports whether esbuild's metafile shows a build that read
// one input (the entry) whose imports were all external.
func selfContained(metafile string) bool {
	var meta struct {
		Inputs map[string]struct {
			Imports []struct {
				External bool `json:"external"`
			} `json:"imports"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(metafile), &meta); err != nil || len(meta.Inputs) != 1 {
		return false
	}
	for _, in := range meta.Inputs {
		for _, imp := range in.Imports {
			if !imp.External {
				return false
			}
		}
	}
	return true
}

// program compiles the bundle for goja once: a goja.Program is not tied to
// a runtime, so every run of a kept bundle shares it. The CommonJS wrapper
// is put on the bundle's first line so that the inline source map's lines
// stay right.
func (b *bundle) program() (*goja.Program, error) {
	b.compile.Do(func() {
		b.prg, b.compileErr = goja.Compile(b.name, moduleWrapper+adjustSourceMap(b.code, len(moduleWrapper))+"\n})", false)
	})
	return b.prg, b.compileErr
}

// moduleWrapper makes the bundle a CommonJS module function.
const moduleWrapper = "(function (exports, require, module, __filename, __dirname) {"
