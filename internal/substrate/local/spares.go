package local

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Making an event's four folders costs ~0.5 ms of CPU on some file systems
// and removing them ~0.3 ms, a good part of what an event costs the
// server. So Cleanup scrubs an event's folder down to its three empty
// subfolders and keeps it as a spare, which prepare renames into place for
// a later event (see Folders in the package documentation).

// spareDir is the pool's folder under the events folder. No event id can
// name it: ids start with a letter or a digit (checkName).
const spareDir = ".spare"

// maxSpares bounds the pool. A spare waits for a sweep (every 200 ms at
// most) before it is reused, so the pool holds what a busy server cleans
// up meanwhile.
const maxSpares = 64

// spareSubdirs are what a spare holds, each empty.
var spareSubdirs = [...]string{"pids", "workspace", "source"}

// spares is the pool of scrubbed event folders.
type spares struct {
	dir     string // eventsDir/.spare; "" when there is no pool
	log     *slog.Logger
	swept   func(stamp uint64) bool // every process of what ended before stamp is gone
	stamp   func() uint64
	fresh   freshDir // what a new folder looks like
	mu      sync.Mutex
	ready   []spare // oldest first
	pending int     // being scrubbed, counted against maxSpares
	next    uint64  // names spares
	closed  bool
}

// spare is a folder in the pool, and when it came in.
type spare struct {
	path  string
	stamp uint64
}

// newSpares starts an empty pool in eventsDir. A pool an earlier server
// left is removed rather than trusted: what it holds was checked by a
// process that is gone, and processes of its jobs could have written
// into it since. Without a pool (outside Linux, or when the old one cannot
// be removed) every event gets new folders, as before.
func newSpares(eventsDir string, c *confiner, log *slog.Logger) *spares {
	sp := &spares{log: log, swept: c.sweptSince, stamp: c.stamp}
	if !sparesSupported {
		return sp
	}
	dir := filepath.Join(eventsDir, spareDir)
	if err := removeTree(dir); err != nil {
		log.Warn("local substrate: cannot remove the spare event folders an earlier server left; "+
			"events get new folders", "folder", dir, "error", err)
		return sp
	}
	if err := os.Mkdir(dir, 0o750); err != nil {
		log.Warn("local substrate: cannot make the folder for spare event folders; events get new folders",
			"folder", dir, "error", err)
		return sp
	}
	fresh, err := freshDirOf(dir)
	if err != nil {
		log.Warn("local substrate: cannot read the folder for spare event folders; events get new folders",
			"folder", dir, "error", err)
		return sp
	}
	sp.dir, sp.fresh = dir, fresh
	return sp
}

// take moves a spare to dir, an event's folder that does not exist yet,
// and reports whether it did. A spare is taken only once a sweep made sure
// no process of its earlier event lives on, and only if it is still
// exactly three empty subfolders.
func (sp *spares) take(dir string) bool {
	if sp.dir == "" {
		return false
	}
	if !sp.hasReady() {
		return false
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) { // a job of an event that has its folder
		return false
	}
	sp.mu.Lock()
	if !sp.hasReadyLocked() {
		sp.mu.Unlock()
		return false
	}
	s := sp.ready[0]
	sp.ready = sp.ready[1:]
	sp.mu.Unlock()

	if err := checkSpare(s.path, sp.fresh); err != nil {
		sp.log.Warn("local substrate: a spare event folder changed after it was scrubbed; removing it",
			"folder", s.path, "error", err)
		sp.drop(s.path)
		return false
	}
	err := renameNoReplace(s.path, dir)
	if err == nil {
		return true
	}
	if errors.Is(err, fs.ErrExist) { // the event's folder appeared meanwhile: keep the spare
		sp.putBack(s)
		return false
	}
	sp.log.Debug("local substrate: cannot use a spare event folder", "folder", s.path, "error", err)
	sp.drop(s.path)
	sp.unsupported(err)
	return false
}

// hasReady reports whether a spare may be taken.
func (sp *spares) hasReady() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.hasReadyLocked()
}

func (sp *spares) hasReadyLocked() bool {
	return len(sp.ready) > 0 && !sp.closed && sp.swept(sp.ready[0].stamp)
}

// putBack returns a spare take did not use to the front of the pool.
func (sp *spares) putBack(s spare) {
	sp.mu.Lock()
	if !sp.closed {
		sp.ready = append([]spare{s}, sp.ready...)
		sp.mu.Unlock()
		return
	}
	sp.mu.Unlock()
	sp.drop(s.path)
}

// unsupported turns the pool off when the file system cannot rename
// without replacing.
func (sp *spares) unsupported(err error) {
	if errors.Is(err, errors.ErrUnsupported) {
		sp.log.Info("local substrate: the file system cannot rename without replacing; events get new folders", "error", err)
		sp.close()
	}
}

// put scrubs an event's folder (whose workloads ended) into the pool and
// reports whether it did; when it did not, the caller removes the folder.
// The spare is checked as it is taken, not here: what a process that
// escaped its job writes meanwhile must be found too, and one check costs
// less than two.
func (sp *spares) put(dir string) bool {
	if sp.dir == "" {
		return false
	}
	sp.mu.Lock()
	if sp.closed || len(sp.ready)+sp.pending >= maxSpares {
		sp.mu.Unlock()
		return false
	}
	sp.pending++
	sp.next++
	name := filepath.Join(sp.dir, strconv.FormatUint(sp.next, 10))
	sp.mu.Unlock()

	// take checks the spare, when nothing can change it any more.
	err := scrub(dir, sp.fresh)
	if err == nil {
		err = renameNoReplace(dir, name)
	}
	sp.mu.Lock()
	sp.pending--
	closed := sp.closed
	if err == nil && !closed {
		sp.ready = append(sp.ready, spare{path: name, stamp: sp.stamp()})
	}
	sp.mu.Unlock()
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			sp.log.Debug("local substrate: an event folder is removed, not kept as a spare", "folder", dir, "error", err)
		}
		sp.unsupported(err)
		return false
	}
	if closed {
		sp.drop(name)
	}
	return true
}

// drop removes a spare that is not in the ready list.
func (sp *spares) drop(path string) {
	if err := removeTree(path); err != nil {
		sp.log.Warn("local substrate: cannot remove a spare event folder", "folder", path, "error", err)
	}
}

// len is how many spares are ready or waiting for a sweep.
func (sp *spares) len() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.ready)
}

// close removes the pool; folders scrubbed after it are removed too.
func (sp *spares) close() {
	sp.mu.Lock()
	sp.closed = true
	sp.ready = nil
	sp.mu.Unlock()
	if sp.dir != "" {
		sp.drop(sp.dir)
	}
}

// spareIndex is name's place in spareSubdirs, or -1.
func spareIndex(name string) int {
	for i, n := range spareSubdirs {
		if n == name {
			return i
		}
	}
	return -1
}

// removeTree removes path and what it holds, as os.RemoveAll does (a
// symlink is removed, never followed), and also what sits in folders a job
// made read-only.
func removeTree(path string) error {
	err := os.RemoveAll(path)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	// Let the owner into every folder on the way, then try again. WalkDir
	// calls the function for a folder before it reads it, and does not
	// follow symlinks.
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}
