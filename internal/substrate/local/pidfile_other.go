//go:build !linux

package local

import (
	"fmt"
	"os"
)

// writePidFile records a process group. Without /proc the leader's start
// time is unknown, so Cleanup cannot verify the group later.
func writePidFile(path string, pid int) error {
	return os.WriteFile(path, fmt.Appendf(nil, "%d 0\n", pid), 0o600)
}

// killLeftovers only removes the files outside Linux: without /proc a
// recorded group cannot be told from a reused process id.
func killLeftovers(dir string, _ interface{ Info(string, ...any) }) {
	_ = os.RemoveAll(dir)
}
