//go:build linux

package substratetest

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// HostProcessGone reports whether pid has ended on this host (a zombie
// counts as ended). It waits up to 10 seconds, through a pidfd that the
// kernel wakes when the process exits (no polling), for an exit that is
// under way: a killed process closes its files, and so ends its log,
// before it is marked dead.
func HostProcessGone(pid int) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH) || zombie(pid)
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}

// zombie reads the process state from /proc (for kernels without pidfds).
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold ')'
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}
