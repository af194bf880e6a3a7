package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// startProfile writes a CPU profile of this process when
// BRIGADE_CPUPROFILE names a file prefix: the profile goes to
// <prefix>.<command>.<pid>, so that a server and every worker it starts
// each leave their own (go tool pprof reads several at once). It returns
// the function that finishes the profile; call it before exiting.
func startProfile(command string) func() {
	prefix := os.Getenv("BRIGADE_CPUPROFILE")
	if prefix == "" {
		return func() {}
	}
	name := fmt.Sprintf("%s.%s.%d", prefix, command, os.Getpid())
	f, err := os.Create(filepath.Clean(name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "brigade: BRIGADE_CPUPROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "brigade: BRIGADE_CPUPROFILE:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
