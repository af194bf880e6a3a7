package npm

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/npm/npmtest"
)

func TestReadTarballSafety(t *testing.T) {
	for name, tgz := range map[string][]byte{
		"dot-dot":  npmtest.TarGz(npmtest.Entry{Name: "package/../../evil.js", Body: "x"}),
		"absolute": npmtest.TarGz(npmtest.Entry{Name: "/etc/evil", Body: "x"}),
		"nested":   npmtest.TarGz(npmtest.Entry{Name: "package/lib/../../../x", Body: "x"}),
	} {
		if _, err := readTarball(tgz); err == nil || !strings.Contains(err.Error(), "tarball") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := readTarball([]byte("not gzip")); err == nil {
		t.Error("garbage should be refused")
	}
	files, err := readTarball(npmtest.TarGz(
		npmtest.Entry{Name: "package/index.js", Body: "ok"},
		npmtest.Entry{Name: "package/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		npmtest.Entry{Name: "package/hard", Typeflag: tar.TypeLink, Linkname: "../../x"},
		npmtest.Entry{Name: "other/lib/a.js", Body: "a"}, // any first folder is dropped, as npm does
	))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.name)
	}
	if strings.Join(names, " ") != "index.js lib/a.js" {
		t.Errorf("files = %v: links must be skipped", names)
	}
	dir := filepath.Join(t.TempDir(), "node_modules", "x")
	if err := writeFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "lib", "a.js")); err != nil || string(b) != "a" {
		t.Errorf("lib/a.js = %q, %v", b, err)
	}
}

func TestInstallScriptDetection(t *testing.T) {
	for want, files := range map[string][]tarFile{
		"":                   {{name: "package.json", data: []byte(`{"scripts": {"test": "x", "prepare": "tsc"}}`)}},
		"scripts.preinstall": {{name: "package.json", data: []byte(`{"scripts": {"preinstall": "x"}}`)}},
		"scripts.install":    {{name: "package.json", data: []byte(`{"scripts": {"install": "x"}}`)}},
		"gypfile":            {{name: "package.json", data: []byte(`{"gypfile": true}`)}},
		"binding.gyp":        {{name: "package.json", data: []byte(`{}`)}, {name: "binding.gyp"}},
	} {
		got := installScript(files)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("installScript = %q, want it to name %q", got, want)
		}
	}
}

func TestCachePrune(t *testing.T) {
	c := cache{dir: t.TempDir()}
	a, b := []byte(strings.Repeat("a", 100)), []byte(strings.Repeat("b", 100))
	ia, ib := sha512Of(a), sha512Of(b)
	c.put(ia, a)
	c.put(ib, b)
	old := c.file(ia)
	past := mustTime(t, "2020-01-01T00:00:00Z")
	os.Chtimes(old, past, past)
	if n := c.prune(150); n != 1 {
		t.Fatalf("pruned %d files, want 1", n)
	}
	if _, ok := c.get(ia); ok {
		t.Error("the tarball used longest ago must go first")
	}
	if _, ok := c.get(ib); !ok {
		t.Error("the recent tarball must stay")
	}
	// A damaged file is a miss, and is removed.
	os.WriteFile(c.file(ib), []byte("damaged"), 0o644)
	if _, ok := c.get(ib); ok {
		t.Error("a damaged tarball must not be returned")
	}
	if _, err := os.Stat(c.file(ib)); err == nil {
		t.Error("a damaged tarball must be removed")
	}
	// A document fetched with a token is only found with that token.
	c.putDoc("https://r.example/p\nBearer one", `"e1"`, []byte(`{}`))
	if etag, doc := c.getDoc("https://r.example/p\nBearer one"); etag != `"e1"` || string(doc) != "{}" {
		t.Errorf("getDoc = %q %q", etag, doc)
	}
	if _, doc := c.getDoc("https://r.example/p\n"); doc != nil {
		t.Error("a document fetched with credentials must not be found without them")
	}
}

func mustTime(t *testing.T, s string) (tm time.Time) {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
