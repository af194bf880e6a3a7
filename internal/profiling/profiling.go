// Package profiling writes CPU and heap profiles of a brigade process when
// BRIGADE_CPUPROFILE asks for them (the server and every worker alike).
package profiling

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// Start writes a CPU profile of this process when
// BRIGADE_CPUPROFILE names a file prefix: the profile goes to
// <prefix>.<command>.<pid>, so that a server and every worker it starts
// each leave their own (go tool pprof reads several at once), and a heap
// profile as it ends (<prefix>.<command>.heap.<pid>). It returns
// the function that finishes the profile; call it before exiting.
//
// Without BRIGADE_CPUPROFILE nothing reads heap profiles, so Start turns
// the runtime's sampling of allocations off: its table of the call stacks
// that allocate grows with the code paths a long-lived server runs
// (0.6-1 MiB of resident memory after 1,000 events).
func Start(command string) func() {
	prefix := os.Getenv("BRIGADE_CPUPROFILE")
	if prefix == "" {
		runtime.MemProfileRate = 0
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
		writeHeapProfile(prefix + "." + command + ".heap." + fmt.Sprint(os.Getpid()))
	}
}

// writeHeapProfile writes what the heap holds as the process ends, after
// a collection, next to the CPU profile.
func writeHeapProfile(name string) {
	f, err := os.Create(filepath.Clean(name))
	if err != nil {
		return
	}
	defer f.Close()
	runtime.GC()
	_ = pprof.Lookup("heap").WriteTo(f, 0)
	m, err := os.Create(filepath.Clean(name + ".classes"))
	if err != nil {
		return
	}
	defer m.Close()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for _, c := range []struct {
		name string
		n    uint64
	}{
		{"heap objects", ms.HeapAlloc}, {"heap idle, not released", ms.HeapIdle - ms.HeapReleased},
		{"heap released", ms.HeapReleased}, {"heap spans in use, unused", ms.HeapInuse - ms.HeapAlloc},
		{"goroutine stacks", ms.StackInuse}, {"span metadata", ms.MSpanSys}, {"GC metadata", ms.GCSys},
		{"profiling buckets", ms.BuckHashSys}, {"other runtime", ms.OtherSys}, {"total from the OS", ms.Sys},
	} {
		fmt.Fprintf(m, "%-28s %8.1f KiB\n", c.name, float64(c.n)/1024)
	}
}
