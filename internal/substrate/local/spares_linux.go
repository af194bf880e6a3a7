//go:build linux

package local

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// sparesSupported: reusing folders is safe only where the confiner can make
// sure no process of an earlier event lives on (see sweep).
const sparesSupported = true

// freshDir is what a folder the substrate makes in the events folder looks
// like: its mode (umask and an inherited setgid bit included) and owner.
type freshDir struct {
	mode     fs.FileMode
	uid, gid uint32
}

func freshDirOf(dir string) (freshDir, error) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return freshDir{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return freshDir{}, fmt.Errorf("no owner for %s", dir)
	}
	return freshDir{mode: fi.Mode(), uid: st.Uid, gid: st.Gid}, nil
}

// checkSpare makes sure dir holds exactly pids/, workspace/ and source/,
// each an empty folder, and that the four look like new folders: mode,
// owner, and no extended attributes beyond the system's security labels.
func checkSpare(dir string, fresh freshDir) error {
	names, err := checkSpareDir(dir, fresh)
	if err != nil {
		return err
	}
	if len(names) != len(spareSubdirs) {
		return fmt.Errorf("%s holds %q; want only %q", dir, names, spareSubdirs)
	}
	for _, name := range names {
		if !isSpareSubdir(name) {
			return fmt.Errorf("%s holds %q; want only %q", dir, names, spareSubdirs)
		}
		sub := filepath.Join(dir, name)
		inside, err := checkSpareDir(sub, fresh)
		if err != nil {
			return err
		}
		if len(inside) > 0 {
			return fmt.Errorf("%s is not empty: it holds %q", sub, inside)
		}
	}
	return nil
}

// checkSpareDir opens dir without following a symlink, checks it looks
// like a new folder and returns up to four of the names it holds.
func checkSpareDir(dir string, fresh freshDir) ([]string, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || fi.Mode() != fresh.mode || st.Uid != fresh.uid || st.Gid != fresh.gid {
		return nil, fmt.Errorf("%s has mode %s, owner %d:%d; want %s, %d:%d", dir, fi.Mode(), st.Uid, st.Gid,
			fresh.mode, fresh.uid, fresh.gid)
	}
	if err := checkNoXattrs(f); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	names, err := f.Readdirnames(len(spareSubdirs) + 1)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return names, err
}

// checkNoXattrs fails when a folder carries extended attributes (a job may
// set user.* ones, or a default ACL) other than security labels, which
// the system sets on every file.
func checkNoXattrs(f *os.File) error {
	var buf [1024]byte
	n, err := unix.Flistxattr(int(f.Fd()), buf[:])
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
