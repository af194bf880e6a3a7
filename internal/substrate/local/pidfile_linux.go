//go:build linux

package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// writePidFile records a process group: its id and its leader's start time,
// so that a later Cleanup can tell the group from a reused process id.
func writePidFile(path string, pid int) error {
	_, start, err := procStat(pid)
	if err != nil {
		return err
	}
	return os.WriteFile(path, fmt.Appendf(nil, "%d %d\n", pid, start), 0o600)
}

// procStat reads a process's group and start time (clock ticks after boot)
// from /proc/<pid>/stat.
func procStat(pid int) (pgrp int, start uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parentheses
	if i < 0 || i+2 > len(s) {
		return 0, 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	if pgrp, err = strconv.Atoi(f[2]); err != nil {
		return 0, 0, err
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return pgrp, start, err
}

// killLeftovers kills the process groups recorded in dir that still run
// (left by a previous server) and removes their files.
func killLeftovers(dir string, log interface{ Info(string, ...any) }) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !strings.HasSuffix(e.Name(), ".pid") {
			continue
		}
		var pgid int
		var start uint64
		b, err := os.ReadFile(path)
		if err == nil {
			_, err = fmt.Sscanf(string(b), "%d %d", &pgid, &start)
		}
		if err == nil && pgid > 1 && groupAlive(pgid, start) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			log.Info("local substrate: killed a process group left by a previous server", "pgid", pgid, "file", path)
		}
		_ = os.Remove(path)
	}
}

// groupAlive reports whether process group pgid, whose leader started at
// start, still has processes.
func groupAlive(pgid int, start uint64) bool {
	if _, s, err := procStat(pgid); err == nil {
		return s == start // a different start time: the id was reused by someone else
	}
	// The leader is gone. While a group has members its id cannot be given
	// to a new process, so members of group pgid are the leader's.
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if pg, s, err := procStat(pid); err == nil && pg == pgid && s >= start {
			return true
		}
	}
	return false
}
