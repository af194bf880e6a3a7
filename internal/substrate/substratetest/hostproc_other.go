//go:build !linux

package substratetest

import "syscall"

// HostProcessGone reports whether pid no longer runs on this host. Outside
// Linux a zombie still counts as running.
func HostProcessGone(pid int) bool {
	return syscall.Kill(pid, 0) == syscall.ESRCH
}
