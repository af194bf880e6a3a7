package js

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// projectFiles are the files esbuild looks for in the entry's folder and
// every folder above it when it is handed a file: they can change how the
// script compiles (compiler options, module type, path aliases).
var projectFiles = []string{"package.json", "tsconfig.json", "jsconfig.json"}

// standalone returns the entry's contents when esbuild may be handed them
// as stdin instead of as a file: the entry is a regular file, and neither
// its folder nor any folder above it holds one of projectFiles. The output
// is then the same, but esbuild lists no folder on the way: given a file,
// it reads every folder from the entry's up to the root, including the
// server's folder of all events, whose size grows with the events kept.
// Imports are still resolved from dir, so relative files and node_modules
// work as before.
func standalone(dir, entry string) (string, bool) {
	path := filepath.Join(dir, entry)
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	for d := dir; ; {
		for _, name := range projectFiles {
			if _, err := os.Lstat(filepath.Join(d, name)); err == nil || !os.IsNotExist(err) {
				return "", false
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return string(src), true
}

// entryInput points esbuild at the entry: as stdin when standalone allows
// it, else as the file itself.
func entryInput(o *api.BuildOptions, dir, entry string) {
	src, ok := standalone(dir, entry)
	if !ok {
		o.EntryPoints = []string{entry}
		return
	}
	loader := api.LoaderJS
	if strings.HasSuffix(entry, ".ts") {
		loader = api.LoaderTS
	}
	o.Stdin = &api.StdinOptions{Contents: src, ResolveDir: dir, Sourcefile: entry, Loader: loader}
}
