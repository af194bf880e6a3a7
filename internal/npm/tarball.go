package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits on what one tarball may unpack to.
const (
	maxUnpackedBytes = 512 << 20
	maxEntries       = 50000
)

// tarFile is one regular file of a package tarball, its path relative to
// the package folder.
type tarFile struct {
	name string
	mode os.FileMode
	data []byte
}

// readTarball unpacks a gzipped package tarball in memory. The first
// folder of every path (usually "package/") is dropped, as npm does.
// Links are skipped (npm skips them too); a path that is absolute or
// climbs out with ".." is an error, and so is a tarball past the limits.
func readTarball(data []byte) ([]tarFile, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("the tarball is not gzip: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	var (
		files []tarFile
		total int64
	)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the tarball is damaged: %w", err)
		}
		if n >= maxEntries {
			return nil, fmt.Errorf("the tarball has more than %d entries", maxEntries)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue // folders are made as needed; links and devices are skipped
		}
		name, err := packagePath(h.Name)
		if err != nil {
			return nil, err
		}
		if name == "" {
			continue
		}
		total += h.Size
		if h.Size < 0 || total > maxUnpackedBytes {
			return nil, fmt.Errorf("the tarball unpacks to more than %d MiB", maxUnpackedBytes>>20)
		}
		buf := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, buf); err != nil {
			return nil, fmt.Errorf("the tarball is damaged at %s: %w", h.Name, err)
		}
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		files = append(files, tarFile{name: name, mode: mode, data: buf})
	}
	return files, nil
}

// packagePath is a tarball entry's path inside the package folder, with
// its first folder dropped; "" for an entry at the top.
func packagePath(name string) (string, error) {
	if strings.ContainsRune(name, 0) || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") && filepath.Separator == '\\' {
		return "", fmt.Errorf("the tarball has an entry with an unsafe path %q", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("the tarball has an entry that leaves its folder: %q", name)
		}
	}
	_, rest, ok := strings.Cut(strings.TrimPrefix(name, "./"), "/")
	if !ok {
		return "", nil
	}
	clean := path.Clean(rest)
	if clean == "." || clean == "" {
		return "", nil
	}
	return clean, nil
}

// packageJSON is what the worker reads of a package's own package.json.
type packageJSON struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Scripts map[string]string `json:"scripts"`
	Gypfile bool              `json:"gypfile"`
}

// installScript says why a package cannot be installed without running
// code at install time: an install script, or a native addon to build.
// "" when it needs none.
func installScript(files []tarFile) string {
	for _, f := range files {
		switch f.name {
		case "binding.gyp":
			return "it has a binding.gyp (a native addon, built with node-gyp)"
		case "package.json":
			var p packageJSON
			if json.Unmarshal(f.data, &p) != nil {
				continue
			}
			for _, s := range []string{"preinstall", "install", "postinstall"} {
				if cmd := strings.TrimSpace(p.Scripts[s]); cmd != "" {
					return fmt.Sprintf("it has an install script (scripts.%s: %q)", s, cmd)
				}
			}
			if p.Gypfile {
				return "it sets gypfile: true (a native addon, built with node-gyp)"
			}
		}
	}
	return ""
}

// writeFiles writes a package's files into dir, which must not exist yet
// (or be empty). Nothing is written through a link: dir is created fresh
// and the tarball's own links were skipped.
func writeFiles(dir string, files []tarFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, f := range files {
		if d := path.Dir(f.name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("creating %s: %w", d, err)
			}
		}
		w, err := root.OpenFile(f.name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, f.mode)
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
		_, err = w.Write(f.data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return nil
}
