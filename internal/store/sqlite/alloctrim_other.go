//go:build !(linux && (amd64 || arm64 || loong64 || ppc64le || s390x || riscv64 || 386 || arm) && !libc.membrk && !libc.memgrind)

package sqlite

// trimSQLiteAllocator does nothing where modernc.org/libc's malloc is not
// the one alloctrim_libc.go reaches.
func trimSQLiteAllocator() error { return nil }
