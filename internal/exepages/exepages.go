// Package exepages lets an idle process give back the pages of its own
// program file that it has mapped.
//
// A Go server's binary is tens of megabytes. The code and read-only data it
// ran during a burst of work stay mapped into it afterwards, counted in its
// resident set, and the kernel maps them 64 KiB at a time (fault-around), so
// scattered use maps far more than was read. These pages are clean copies of
// the file: dropping the mappings loses nothing, the page cache keeps the
// data while memory allows, and the next use maps a page again with a minor
// fault. Release does that for the read-only, private mappings of the
// running executable; writable mappings (the data and BSS segments, which
// may hold changes) are never touched, nor is a read-only one that holds a
// changed copy of a page (a debugger's breakpoint, a uprobe).
package exepages

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// mapping is a mapping of the executable that may be released.
type mapping struct {
	start, end uintptr
}

// releasable parses /proc/<pid>/smaps text and returns the read-only
// private mappings of the file with the given device and inode that hold
// no private copy of a page. A debugger's breakpoint or a uprobe is such a
// copy (the kernel writes it into a copy of the code page), and dropping
// it would drop the breakpoint, so a mapping with one is left alone.
func releasable(smaps []byte, major, minor uint32, inode uint64) ([]mapping, error) {
	var out []mapping
	var cur *mapping // the candidate whose fields are being read
	anon := int64(-1)
	done := func() {
		if cur != nil && anon == 0 {
			out = append(out, *cur)
		}
		cur, anon = nil, -1
	}
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 {
			continue
		}
		if bytes.HasSuffix(f[0], []byte(":")) { // a field of the mapping above
			if cur != nil && string(f[0]) == "Anonymous:" && len(f) >= 2 {
				if n, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil {
					anon = n
				}
			}
			continue
		}
		done()
		// address perms offset dev inode [path]
		if len(f) < 5 {
			continue
		}
		perms := f[1]
		if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
			continue
		}
		ino, err := strconv.ParseUint(string(f[4]), 10, 64)
		if err != nil || ino != inode {
			continue
		}
		maj, min, ok := parseDev(f[3])
		if !ok || maj != major || min != minor {
			continue
		}
		start, end, ok := parseRange(f[0])
		if !ok {
			return nil, fmt.Errorf("exepages: cannot read the address range %q in the memory map", f[0])
		}
		cur = &mapping{start, end}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("exepages: reading the memory map: %w", err)
	}
	done()
	return out, nil
}

func parseDev(b []byte) (major, minor uint32, ok bool) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return 0, 0, false
	}
	ma, err1 := strconv.ParseUint(string(b[:i]), 16, 32)
	mi, err2 := strconv.ParseUint(string(b[i+1:]), 16, 32)
	return uint32(ma), uint32(mi), err1 == nil && err2 == nil
}

func parseRange(b []byte) (start, end uintptr, ok bool) {
	i := bytes.IndexByte(b, '-')
	if i < 0 {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(string(b[:i]), 16, 64)
	e, err2 := strconv.ParseUint(string(b[i+1:]), 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}

// readSmaps reads /proc/self/smaps.
func readSmaps() ([]byte, error) {
	return os.ReadFile("/proc/self/smaps")
}
