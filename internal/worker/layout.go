package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The worker lays out its config folder inside the event's source folder
// and never writes outside it (docs/security.md, "Paths"): the folder's
// name must be local, files are written through an os.Root (which refuses
// to follow a link out of its folder), and a git checkout's symlinks that
// point out of the checkout are removed before anything reads or writes
// through them.

// configDir makes the config folder rel inside src and returns it open as
// an os.Root, through which the config files are written, and its path. A
// name that is absolute or climbs out of src, or a folder on the way that
// is a symlink leading out of src, is refused. The caller closes the root.
//
// Every event runs this, most often on a source folder that does not exist
// yet: it makes each folder with one mkdir where it can, and opens each
// once.
func configDir(src, rel string, w *logWriter) (*os.Root, string, error) {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if rel == "" {
		clean = "."
	}
	if !filepath.IsLocal(clean) || strings.ContainsRune(rel, '\\') {
		return nil, "", fmt.Errorf("the project's configFilesDirectory %q leaves the event's source folder; "+
			"set it to a folder inside the source, such as . or .brigade", rel)
	}
	// The source folder exists after a checkout; else its parent (the
	// event's folder) does.
	err := os.Mkdir(src, 0o755)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		err = os.MkdirAll(src, 0o755)
		if err != nil {
			return nil, "", fmt.Errorf("creating the source folder %s: %w", src, err)
		}
	}
	if err == nil && clean == "." {
		w.log("DEBUG", "path %s does not exist; creating it", src)
	}
	root, err := os.OpenRoot(src)
	if err != nil {
		return nil, "", fmt.Errorf("opening the source folder %s: %w", src, err)
	}
	if clean == "." {
		return root, src, nil
	}
	defer root.Close()
	dir := filepath.Join(src, clean)
	if err := root.Mkdir(clean, 0o755); err == nil || errors.Is(err, fs.ErrNotExist) {
		w.log("DEBUG", "path %s does not exist; creating it", dir)
		if err != nil {
			err = root.MkdirAll(clean, 0o755) // a folder on the way is missing too
		}
		if err != nil {
			return nil, "", fmt.Errorf("creating the config folder %q inside the source folder (a symlink on the way "+
				"must not lead out of it): %w", rel, err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, "", fmt.Errorf("creating the config folder %q inside the source folder (a symlink on the way "+
			"must not lead out of it): %w", rel, err)
	}
	// Opening it as a root checks that it resolves inside src.
	cfg, err := root.OpenRoot(clean)
	if err != nil {
		return nil, "", fmt.Errorf("the config folder %q does not stay inside the source folder: %w", rel, err)
	}
	return cfg, dir, nil
}

// dropEscapingLinks removes every symlink under dir (a git checkout) that
// resolves outside dir, or does not resolve at all (it could be made to
// later), and warns about each: nothing the worker or a script's bundler
// writes or reads may go through one. Links that stay inside are kept.
// .git folders are not looked into.
func dropEscapingLinks(dir string, w *logWriter) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("resolving the source folder %s: %w", dir, err)
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" && p != dir {
			return filepath.SkipDir
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		target, err := filepath.EvalSymlinks(p)
		if err == nil && within(real, target) {
			return nil
		}
		link, _ := os.Readlink(p)
		rel, _ := filepath.Rel(dir, p)
		w.log("WARN", "removed the symlink %s (to %s) from the checkout: it leads out of the source folder", rel, link)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing the symlink %s, which leads out of the source folder: %w", rel, err)
		}
		return nil
	})
}

// within reports whether p is dir or below it (both resolved).
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(rel)
}
