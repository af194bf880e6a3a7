//go:build !linux

package exepages

// Release does nothing where the process's memory map cannot be read the
// Linux way.
func Release() (int64, error) { return 0, nil }
