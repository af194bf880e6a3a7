package exepages

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Release drops this process's mappings of the read-only pages of its own
// executable (see the package comment) and returns how many bytes of
// address space it covered. It is safe while other goroutines run: code
// they reach next is mapped again on its first use. A breakpoint set in
// the moment between its reading of the memory map and its release would
// be lost.
func Release() (int64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return 0, fmt.Errorf("exepages: finding this program's file: %w", err)
	}
	smaps, err := readSmaps()
	if err != nil {
		return 0, fmt.Errorf("exepages: %w", err)
	}
	ms, err := releasable(smaps, unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, m := range ms {
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); e != 0 {
			return total, fmt.Errorf("exepages: releasing %#x-%#x: %w", m.start, m.end, e)
		}
		total += int64(m.end - m.start)
	}
	return total, nil
}
