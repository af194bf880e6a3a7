package js

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dop251/goja"
	"github.com/evanw/esbuild/pkg/api"
)

// bundle is a script ready to run: one CommonJS file with an inline source
// map whose sources are relative to the config folder ("brigade.ts",
// "lib/util.ts", "node_modules/x/index.js"), so stack traces name them so.
type bundle struct {
	entry string // "brigade.ts" or "brigade.js"
	name  string // the bundle's file name for goja (relative, next to entry)
	code  string

	compile    sync.Once // program
	prg        *goja.Program
	compileErr error
}

// bundleName is the (never written) output file. It sits in the config
// folder so that the source map's paths are relative to it.
const bundleName = "brigade.bundle.js"

// findEntry picks the script the original worker would run (docs/worker.md,
// "Building and running the script"): brigade.ts if present (tsc compiles it to brigade.js,
// overwriting any brigade.js), else brigade.js.
//
// Divergences: package.json scripts.build / scripts.run (which the original
// runs with npm or yarn) cannot run without Node.js; they are ignored with a
// WARN line. A tsconfig.json is honoured only as far as esbuild reads one
// (paths, baseUrl, JSX and class-field settings), not as a tsc project.
// brigade.json means nothing to a v2 worker (only v1 reads it, for its
// dependencies) and package.json's "main" is not used by either, so both are
// ignored.
func findEntry(dir string, s *session) (string, error) {
	if raw, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil {
		var pkg struct {
			Scripts map[string]any `json:"scripts"`
		}
		if json.Unmarshal(raw, &pkg) == nil {
			for _, name := range []string{"build", "run"} {
				if _, ok := pkg.Scripts[name]; ok {
					s.log(levelWarn, "", fmt.Sprintf("package.json scripts.%s is ignored: this worker has no Node.js, it bundles brigade.ts or brigade.js itself", name))
				}
			}
		}
	}
	for _, name := range []string{"brigade.ts", "brigade.js"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err == nil && !fi.IsDir() {
			return name, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("js: looking for %s: %w", name, err)
		}
	}
	return "", &scriptError{"found nothing to run: there is no brigade.ts or brigade.js in " + dir}
}

// build bundles the script in dir with esbuild: TypeScript is stripped of
// its types (not type-checked: see doc.go), ES modules become CommonJS,
// relative files, JSON and packages in node_modules are inlined, Node
// built-ins and the brigadier modules stay require() calls served at run
// time. Build errors come back as a *scriptError naming file:line:col.
func build(dir string, s *session) (*bundle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("js: resolving the config folder: %w", err)
	}
	entry, err := findEntry(abs, s)
	if err != nil {
		return nil, err
	}
	opts := buildOptions(abs)
	entryInput(&opts, abs, entry)
	key, cacheable := cacheKey(opts, entry) // bundlecache.go
	if cacheable {
		if c, ok := cachedBuild(key); ok {
			s.log(levelDebug, "", "bundling "+entry+" with esbuild: unchanged since an earlier run in this process, its bundle is reused")
			logWarnings(s, c.warnings, abs)
			return c.b, nil
		}
		opts.Metafile = true // to see what the build read
	}
	s.log(levelDebug, "", "bundling "+entry+" with esbuild")
	res := api.Build(opts)
	logWarnings(s, res.Warnings, abs)
	if len(res.Errors) > 0 {
		lines := make([]string, 0, len(res.Errors))
		for _, e := range res.Errors {
			lines = append(lines, formatMessage(e, abs))
		}
		return nil, &scriptError{"error compiling " + entry + ": " + strings.Join(lines, "\n")}
	}
	for _, f := range res.OutputFiles {
		if strings.HasSuffix(f.Path, ".js") {
			b := &bundle{entry: entry, name: bundleName, code: string(f.Contents)}
			if cacheable && selfContained(res.Metafile) {
				keepBuild(key, cachedBundle{b: b, warnings: res.Warnings})
			}
			return b, nil
		}
	}
	return nil, errors.New("js: esbuild produced no JavaScript output")
}

// logWarnings logs esbuild's warnings at DEBUG.
func logWarnings(s *session, warnings []api.Message, abs string) {
	for _, w := range warnings {
		s.log(levelDebug, "", "esbuild: "+formatMessage(w, abs))
	}
}

// buildOptions are esbuild's settings for a script in the folder abs,
// without the entry (see entryInput).
func buildOptions(abs string) api.BuildOptions {
	return api.BuildOptions{
		AbsWorkingDir: abs,
		Bundle:        true,
		Write:         false,
		Outfile:       bundleName,
		Platform:      api.PlatformNode,
		Format:        api.FormatCommonJS,
		// goja implements ES5.1 plus most of ES2015-2017 (classes,
		// generators, async functions); esbuild lowers anything newer
		// (optional chaining, class fields, object spread, async
		// iteration).
		Target:         api.ES2017,
		Supported:      map[string]bool{"bigint": true}, // goja has BigInt
		Sourcemap:      api.SourceMapInline,
		SourcesContent: api.SourcesContentExclude,
		KeepNames:      true,
		External:       externalModules(),
		LogLevel:       api.LogLevelSilent,
		Charset:        api.CharsetUTF8,
	}
}

// formatMessage renders an esbuild message as "file:line:col: text", plus a
// hint where esbuild's own (aimed at its CLI users) would mislead.
func formatMessage(m api.Message, dir string) string {
	text := m.Text
	switch {
	case strings.HasPrefix(text, "Could not resolve \"."), strings.HasPrefix(text, "Could not resolve \"/"):
		text += " (no such file, relative to the file that imports it)"
	case strings.HasPrefix(text, "Could not resolve \""):
		text += " (packages are bundled from node_modules in the config folder " + dir +
			"; list the package in package.json's dependencies, which the worker installs, or commit it in node_modules)"
	}
	if m.Location == nil {
		return text
	}
	return fmt.Sprintf("%s:%d:%d: %s", m.Location.File, m.Location.Line, m.Location.Column+1, text)
}
