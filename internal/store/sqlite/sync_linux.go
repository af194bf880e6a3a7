package sqlite

import (
	"os"
	"syscall"
)

// datasync is fdatasync(2), as SQLite's own commits use here: the data and
// the size, without waiting for a journal entry for the timestamps.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
