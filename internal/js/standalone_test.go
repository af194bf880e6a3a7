package js

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
)

// TestStandaloneBuildMatchesFileBuild: handing esbuild the entry as stdin
// gives the same bundle, source map included, as handing it the file, for
// TypeScript, ES modules, relative imports and a syntax error's location.
func TestStandaloneBuildMatchesFileBuild(t *testing.T) {
	cases := map[string]map[string]string{
		"brigade.ts": {
			"brigade.ts": "import { events, Job } from \"@brigadecore/brigadier\";\n" +
				"interface P { n: number }\nconst p: P = { n: 1 };\n" +
				"class C { x = p?.n ?? 2; }\n" +
				"events.on(\"a\", \"b\", async e => { console.log(new C().x, { ...p }); });\nevents.process();\n",
		},
		"brigade.js": {
			"brigade.js": "const { events } = require(\"@brigadecore/brigadier\");\n" +
				"const { greet } = require(\"./lib/greet\");\nconst data = require(\"./data.json\");\n" +
				"events.on(\"a\", \"b\", () => console.log(greet(data.name)));\n",
			"lib/greet.js": "exports.greet = n => `hello ${n}`;\n",
			"data.json":    "{\"name\": \"x\"}\n",
		},
		"broken": {
			"brigade.ts": "const x: number = ;\n",
		},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, body := range files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			entry := "brigade.js"
			if _, ok := files["brigade.ts"]; ok {
				entry = "brigade.ts"
			}
			if _, ok := standalone(dir, entry); !ok {
				t.Skipf("a folder above %s holds a package.json, tsconfig.json or jsconfig.json", dir)
			}
			viaStdin := buildOptions(dir)
			entryInput(&viaStdin, dir, entry)
			if viaStdin.Stdin == nil {
				t.Fatal("entryInput did not use stdin for a standalone script")
			}
			viaFile := buildOptions(dir)
			viaFile.EntryPoints = []string{entry}
			a, b := api.Build(viaStdin), api.Build(viaFile)
			if len(a.Errors) != len(b.Errors) {
				t.Fatalf("errors differ: stdin %v, file %v", a.Errors, b.Errors)
			}
			for i := range a.Errors {
				if got, want := formatMessage(a.Errors[i], dir), formatMessage(b.Errors[i], dir); got != want {
					t.Errorf("error %d: stdin %q, file %q", i, got, want)
				}
			}
			if len(a.OutputFiles) != len(b.OutputFiles) {
				t.Fatalf("outputs differ: %d and %d files", len(a.OutputFiles), len(b.OutputFiles))
			}
			for i := range a.OutputFiles {
				if string(a.OutputFiles[i].Contents) != string(b.OutputFiles[i].Contents) {
					t.Errorf("output %d differs:\nstdin:\n%s\nfile:\n%s", i, a.OutputFiles[i].Contents, b.OutputFiles[i].Contents)
				}
			}
		})
	}
}

// TestStandaloneNeedsNoProjectFiles: a package.json, tsconfig.json or
// jsconfig.json next to the script, or a symlinked entry, keeps esbuild
// reading the file, so that what those change still applies.
func TestStandaloneNeedsNoProjectFiles(t *testing.T) {
	for _, f := range append([]string{"symlink"}, projectFiles...) {
		t.Run(f, func(t *testing.T) {
			dir := t.TempDir()
			entry := filepath.Join(dir, "brigade.js")
			if f == "symlink" {
				if err := os.WriteFile(filepath.Join(dir, "real.js"), []byte("1\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("real.js", entry); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.WriteFile(entry, []byte("1\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), []byte("{}\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok := standalone(dir, "brigade.js"); ok {
				t.Fatalf("standalone with %s in the folder", f)
			}
		})
	}
}
