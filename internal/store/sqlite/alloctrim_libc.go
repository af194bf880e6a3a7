//go:build linux && (amd64 || arm64 || loong64 || ppc64le || s390x || riscv64 || 386 || arm) && !libc.membrk && !libc.memgrind

package sqlite

import (
	"sync"
	_ "unsafe" // go:linkname

	"modernc.org/memory"
)

// SQLite's C code runs translated to Go (modernc.org/libc); its malloc and
// free go to one memory.Allocator in that package, which keeps the regions
// SQLite frees for reuse rather than unmapping them. After a burst, the
// pages SQLite freed (page caches, statements, sorter buffers) thus stay
// resident while the server is idle: 4 MiB here after 1,000 events. The
// allocator can give them back (Trim) but the package exposes neither it
// nor its lock, so they are reached by name. These names match
// modernc.org/libc's malloc on these platforms and build tags
// (mem_musl.go, libc_musl.go); if they change, linking fails, and
// TestTrimUnmapsFreedSQLiteMemory checks that this is the allocator malloc
// uses.

//go:linkname libcAllocator modernc.org/libc.allocator
var libcAllocator memory.Allocator

//go:linkname libcAllocatorMu modernc.org/libc.allocatorMu
var libcAllocatorMu sync.Mutex

// trimSQLiteAllocator unmaps what SQLite's allocator holds free. It takes
// the lock malloc and free take, so it is safe while SQLite runs.
func trimSQLiteAllocator() error {
	libcAllocatorMu.Lock()
	defer libcAllocatorMu.Unlock()
	return libcAllocator.Trim()
}
