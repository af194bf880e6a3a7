//go:build linux

package local

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// sweep reads every process's initial environment from /proc and kills
// (SIGKILL) those whose confineVar doomed says must go. It returns how many
// it killed, and false when it could not read the process table. Processes
// it may not read (another user's) are not ours.
func sweep(doomed func(mark string) bool, log interface{ Info(string, ...any) }) (int, bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	prefix := []byte(confineVar + "=")
	self := os.Getpid()
	killed := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid <= 1 {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(env, prefix) {
			continue
		}
		for kv := range bytes.SplitSeq(env, []byte{0}) {
			mark, ok := bytes.CutPrefix(kv, prefix)
			if !ok {
				continue
			}
			if doomed(string(mark)) && syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
				log.Info("local substrate: killed a process of a job that ended (it had left the job's process group)",
					"pid", pid, "job", string(mark))
			}
			break
		}
	}
	return killed, true
}
