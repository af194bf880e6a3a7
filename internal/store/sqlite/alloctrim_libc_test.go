//go:build linux && (amd64 || arm64 || loong64 || ppc64le || s390x || riscv64 || 386 || arm) && !libc.membrk && !libc.memgrind

package sqlite

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"modernc.org/libc"
)

// TestTrimUnmapsFreedSQLiteMemory: a block SQLite's malloc handed out and
// took back stays mapped (the allocator keeps it for reuse) until
// trimSQLiteAllocator, which proves that the allocator reached by name is
// the one malloc uses.
func TestTrimUnmapsFreedSQLiteMemory(t *testing.T) {
	tls := libc.NewTLS()
	defer tls.Close()
	must(t, trimSQLiteAllocator(), "empty the allocator's pool")
	// Above the allocator's 64 KiB pages: a region of its own, which no
	// small allocation of a store running meanwhile can share.
	p := libc.Xmalloc(tls, 1<<20+1)
	if p == 0 {
		t.Fatal("malloc of 1 MiB failed")
	}
	if !mapped(t, p) {
		t.Fatalf("the block malloc returned (%#x) is not mapped", p)
	}
	libc.Xfree(tls, p)
	if !mapped(t, p) {
		t.Fatalf("free unmapped the block at once: modernc.org/libc's allocator no longer keeps freed regions, " +
			"so trimSQLiteAllocator has nothing to give back (see alloctrim_libc.go)")
	}
	must(t, trimSQLiteAllocator(), "trim")
	if mapped(t, p) {
		t.Fatalf("the freed block is still mapped after trimSQLiteAllocator: " +
			"libcAllocator is not the allocator modernc.org/libc's malloc uses")
	}
}

// mapped reports whether address p lies in one of this process's mappings.
func mapped(t *testing.T, p uintptr) bool {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r, _, _ := strings.Cut(sc.Text(), " ")
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && uint64(p) >= l && uint64(p) < h {
			return true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return false
}
