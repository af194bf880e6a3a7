package local

import (
	"fmt"
	"strconv"
	"strings"
)

// Pid files list process groups, a line each: "<pgid> <start>" when one
// started, "<pgid> <start> ended" once it is gone. An event's worker and
// jobs share one, groupsFile, appended to: a file is created once per event
// (creating files is among the dearest steps of starting work on some file
// systems). Cleanup reads every *.pid file of the folder.

// groupsFile is the pid file of an event's process groups, in its pids/.
const groupsFile = "groups.pid"

// recordGroupEnd marks a recorded group as gone, so that Cleanup does not
// look for it.
func recordGroupEnd(path string, pid int, start uint64) error {
	return appendPidLine(path, fmt.Appendf(nil, "%d %d ended\n", pid, start))
}

// pidGroup is a recorded process group.
type pidGroup struct {
	pgid  int
	start uint64
}

// openGroups parses a pid file and returns the groups it records as
// started and not as ended. Lines it cannot read are skipped.
func openGroups(b []byte) []pidGroup {
	var started []pidGroup
	ended := map[pidGroup]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 || (len(f) == 3 && f[2] != "ended") {
			continue
		}
		pgid, err1 := strconv.Atoi(f[0])
		start, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		g := pidGroup{pgid: pgid, start: start}
		if len(f) == 3 {
			ended[g] = true
		} else {
			started = append(started, g)
		}
	}
	open := started[:0]
	for _, g := range started {
		if !ended[g] {
			open = append(open, g)
		}
	}
	return open
}
