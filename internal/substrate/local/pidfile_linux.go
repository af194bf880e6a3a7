//go:build linux

package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// recordGroup appends a process group to a pid file (several groups may
// share one): its id and its leader's start time, so that a later Cleanup
// can tell the group from a reused process id. It returns the start time,
// for recordGroupEnd.
func recordGroup(path string, pid int) (uint64, error) {
	_, start, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return start, appendPidLine(path, fmt.Appendf(nil, "%d %d\n", pid, start))
}

// writePidFile records a process group in a pid file of its own.
func writePidFile(path string, pid int) error {
	_, err := recordGroup(path, pid)
	return err
}

// appendPidLine appends one line: appending to a file that exists costs
// a fraction of creating one, which on some file systems is the dearest
// step of starting a job.
func appendPidLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(line)
	return errors.Join(err, f.Close())
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
// (left by a previous server) and removes their files. Groups recorded as
// ended are not looked at.
func killLeftovers(dir string, log interface{ Info(string, ...any) }) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !strings.HasSuffix(e.Name(), ".pid") || !e.Type().IsRegular() { // a fifo a job made would block the read
			continue
		}
		b, err := os.ReadFile(path)
		if err == nil {
			for _, g := range openGroups(b) {
				if g.pgid > 1 && groupAlive(g.pgid, g.start) {
					_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
					log.Info("local substrate: killed a process group left by a previous server", "pgid", g.pgid, "file", path)
				}
			}
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
