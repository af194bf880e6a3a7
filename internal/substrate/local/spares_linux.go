//go:build linux

package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// sparesSupported: reusing folders is safe only where the confiner can make
// sure no process of an earlier event lives on (see sweep).
const sparesSupported = true

// The spares' folders are read and changed through raw system calls on
// descriptors opened without following symlinks: an os.File costs a few
// calls more each (the poller, a finalizer), and a spare's checks open
// four folders.

// freshDir is what a folder the substrate makes in the events folder looks
// like: its permission bits (umask and an inherited setgid bit included)
// and owner.
type freshDir struct{ perm, uid, gid uint32 }

func freshDirOf(dir string) (freshDir, error) {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return freshDir{}, &os.PathError{Op: "lstat", Path: dir, Err: err}
	}
	return freshDir{perm: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid}, nil
}

// openDir opens a folder for reading; a symlink fails (ELOOP) and so does
// anything else that is not a folder (ENOTDIR).
func openDir(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}

// dirNames lists a folder's entries but "." and "..".
func dirNames(fd int) ([]string, error) {
	var buf [4096]byte
	var names []string
	for {
		n, err := unix.Getdents(fd, buf[:])
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// scrub empties an event folder down to its subfolders pids/, workspace/
// and source/, each empty, with the mode a new folder gets. It makes a
// missing subfolder and fails on anything it cannot make right (a
// subfolder that is a symlink or a file, a folder it may not read, an
// entry it cannot remove); it never follows a symlink.
func scrub(dir string, fresh freshDir) error {
	names, err := resetDir(dir, fresh)
	if err != nil {
		return err
	}
	var have [len(spareSubdirs)]bool
	for _, name := range names {
		path := filepath.Join(dir, name)
		i := spareIndex(name)
		if i < 0 {
			if err := removeTree(path); err != nil {
				return err
			}
			continue
		}
		inside, err := resetDir(path, fresh)
		if err != nil {
			return err
		}
		for _, n := range inside {
			if err := removeTree(filepath.Join(path, n)); err != nil {
				return err
			}
		}
		have[i] = true
	}
	for i, name := range spareSubdirs {
		if !have[i] {
			if err := os.Mkdir(filepath.Join(dir, name), 0o750); err != nil { // as prepare makes it
				return err
			}
		}
	}
	return nil
}

// resetDir gives a folder the mode of a new one and lists what it holds;
// it fails when the folder has another owner or extended attributes,
// which a new folder would not have.
func resetDir(path string, fresh freshDir) ([]string, error) {
	return inspectDir(path, fresh, true)
}

// checkSpare makes sure dir holds exactly pids/, workspace/ and source/,
// each an empty folder, and that the four look like new folders: mode,
// owner, and no extended attributes beyond the system's security labels.
func checkSpare(dir string, fresh freshDir) error {
	names, err := checkSpareDir(dir, fresh)
	if err != nil {
		return err
	}
	var seen [len(spareSubdirs)]bool
	for _, name := range names {
		i := spareIndex(name)
		if i < 0 || seen[i] || len(names) != len(spareSubdirs) {
			return fmt.Errorf("%s holds %q; want only %q", dir, names, spareSubdirs)
		}
		seen[i] = true
		sub := filepath.Join(dir, name)
		inside, err := checkSpareDir(sub, fresh)
		if err != nil {
			return err
		}
		if len(inside) > 0 {
			return fmt.Errorf("%s is not empty: it holds %q", sub, inside)
		}
	}
	if len(names) != len(spareSubdirs) {
		return fmt.Errorf("%s holds %q; want only %q", dir, names, spareSubdirs)
	}
	return nil
}

// checkSpareDir checks a folder (not a symlink) looks like a new one and
// returns the names it holds.
func checkSpareDir(dir string, fresh freshDir) ([]string, error) {
	return inspectDir(dir, fresh, false)
}

// inspectDir opens a folder without following a symlink, checks that it
// has the owner of a new folder and no extended attributes, and lists what
// it holds. A mode other than a new folder's is set right (resetMode, as
// Cleanup scrubs) or refused (as a spare is checked when taken).
func inspectDir(path string, fresh freshDir, resetMode bool) ([]string, error) {
	fd, err := openDir(path)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Uid != fresh.uid || st.Gid != fresh.gid {
		return nil, fmt.Errorf("%s is owned by %d:%d; want %d:%d", path, st.Uid, st.Gid, fresh.uid, fresh.gid)
	}
	if err := checkNoXattrs(fd); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode != unix.S_IFDIR|fresh.perm {
		if !resetMode {
			return nil, fmt.Errorf("%s has mode %o; want %o", path, st.Mode, unix.S_IFDIR|fresh.perm)
		}
		if err := unix.Fchmod(fd, fresh.perm); err != nil {
			return nil, &os.PathError{Op: "chmod", Path: path, Err: err}
		}
	}
	names, err := dirNames(fd)
	if err != nil {
		return nil, &os.PathError{Op: "readdir", Path: path, Err: err}
	}
	return names, nil
}

// checkNoXattrs fails when a folder carries extended attributes (a job may
// set user.* ones, or a default ACL) other than security labels, which
// the system sets on every file.
func checkNoXattrs(fd int) error {
	var buf [1024]byte
	n, err := unix.Flistxattr(fd, buf[:])
	switch {
	case errors.Is(err, unix.ENOTSUP):
		return nil
	case errors.Is(err, unix.ERANGE):
		return errors.New("it carries extended attributes")
	case err != nil:
		return err
	}
	for name := range strings.SplitSeq(string(buf[:n]), "\x00") {
		if name != "" && !strings.HasPrefix(name, "security.") {
			return fmt.Errorf("it carries the extended attribute %s", name)
		}
	}
	return nil
}

// renameNoReplace renames a folder, failing with fs.ErrExist when the new
// name is taken (even by an empty folder, which rename would replace).
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) { // a file system without RENAME_NOREPLACE
		err = fmt.Errorf("%w: %w", errors.ErrUnsupported, err)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
