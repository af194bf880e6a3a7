//go:build !linux

package local

import (
	"errors"
	"fmt"
	"os"
)

// recordGroup appends a process group to a pid file. Without /proc the
// leader's start time is unknown, so Cleanup cannot verify the group later.
func recordGroup(path string, pid int) (uint64, error) {
	return 0, appendPidLine(path, fmt.Appendf(nil, "%d 0\n", pid))
}

// writePidFile records a process group in a pid file of its own.
func writePidFile(path string, pid int) error {
	_, err := recordGroup(path, pid)
	return err
}

func appendPidLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(line)
	return errors.Join(err, f.Close())
}

// killLeftovers only removes the files outside Linux: without /proc a
// recorded group cannot be told from a reused process id.
func killLeftovers(dir string, _ interface{ Info(string, ...any) }) {
	_ = os.RemoveAll(dir)
}
