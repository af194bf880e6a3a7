//go:build !linux

package local

// sweep finds nothing outside Linux: without /proc the processes of a job
// that left its process group cannot be found (see Confinement in the
// package documentation), and it reports that it could not look.
func sweep(func(string) bool, interface{ Info(string, ...any) }) (int, bool) { return 0, false }
