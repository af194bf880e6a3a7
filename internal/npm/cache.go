package npm

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultCacheMax bounds a project's tarball cache: past it, the tarballs
// used longest ago are removed after an install.
const DefaultCacheMax = 512 << 20

// cache keeps verified tarballs by their integrity, one file each
// ("tarballs/sha512-<hex>.tgz"). Several workers of a project may share
// it at once: files appear by rename, whole, and a damaged or vanished one
// is only a miss.
type cache struct {
	dir string // "" disables the cache
}

func (c cache) file(in Integrity) string {
	return filepath.Join(c.dir, "tarballs", in.key()+".tgz")
}

// get returns a cached tarball that still matches its integrity, and
// marks it used.
func (c cache) get(in Integrity) ([]byte, bool) {
	if c.dir == "" || in.IsZero() {
		return nil, false
	}
	p := c.file(in)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	if in.Check(data) != nil {
		os.Remove(p)
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return data, true
}

// put stores a verified tarball; failing to is not an error (the next
// install downloads it again).
func (c cache) put(in Integrity, data []byte) {
	if c.dir == "" || in.IsZero() {
		return
	}
	c.write(c.file(in), data)
}

// docFile is where a package document fetched under key (its URL and
// the credentials sent for it, so that a document fetched with a token is
// only reused with that token) is kept: its ETag on the first line, the
// document after it.
func (c cache) docFile(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.dir, "documents", hex.EncodeToString(sum[:16])+".json")
}

// getDoc returns a cached package document (nil when there is none) and
// its ETag ("" when the registry gave none).
func (c cache) getDoc(key string) (string, []byte) {
	if c.dir == "" {
		return "", nil
	}
	p := c.docFile(key)
	data, err := os.ReadFile(p)
	if err != nil {
		return "", nil
	}
	etag, body, ok := strings.Cut(string(data), "\n")
	if !ok {
		return "", nil
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return etag, []byte(body)
}

// putDoc keeps a package document and its ETag.
func (c cache) putDoc(key, etag string, body []byte) {
	if c.dir == "" || strings.ContainsAny(etag, "\r\n") {
		return
	}
	c.write(c.docFile(key), append([]byte(etag+"\n"), body...))
}

// write creates or replaces a cache file whole, through a rename.
func (c cache) write(p string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

// prune removes the files (tarballs and documents) used longest ago until
// the rest fit in max bytes, and temporary files an interrupted write left
// behind. It returns how many files it removed.
func (c cache) prune(max int64) int {
	if c.dir == "" {
		return 0
	}
	type item struct {
		path string
		size int64
		used time.Time
	}
	var (
		items   []item
		total   int64
		removed int
	)
	_ = filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			if time.Since(fi.ModTime()) > time.Hour && os.Remove(p) == nil {
				removed++
			}
			return nil
		}
		items = append(items, item{p, fi.Size(), fi.ModTime()})
		total += fi.Size()
		return nil
	})
	sort.Slice(items, func(i, j int) bool { return items[i].used.Before(items[j].used) })
	for _, it := range items {
		if total <= max {
			break
		}
		if os.Remove(it.path) == nil {
			removed++
		}
		total -= it.size
	}
	return removed
}
