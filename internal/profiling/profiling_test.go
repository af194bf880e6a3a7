package profiling

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestStartWithoutProfile: no profile asked for, no allocation sampling
// and no files.
func TestStartWithoutProfile(t *testing.T) {
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	t.Setenv("BRIGADE_CPUPROFILE", "")
	t.Chdir(t.TempDir())
	Start("test")()
	if runtime.MemProfileRate != 0 {
		t.Errorf("MemProfileRate %d without BRIGADE_CPUPROFILE, want 0", runtime.MemProfileRate)
	}
	if left, _ := os.ReadDir("."); len(left) != 0 {
		t.Errorf("files written without BRIGADE_CPUPROFILE: %v", left)
	}
}

// TestStartWithProfile: the CPU profile, the heap profile (sampled as
// usual) and its size classes land next to the prefix.
func TestStartWithProfile(t *testing.T) {
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	prefix := filepath.Join(t.TempDir(), "p")
	t.Setenv("BRIGADE_CPUPROFILE", prefix)
	rate := runtime.MemProfileRate
	Start("test")()
	if runtime.MemProfileRate != rate || rate == 0 {
		t.Errorf("MemProfileRate %d while profiling, want the default %d", runtime.MemProfileRate, rate)
	}
	pid := os.Getpid()
	for _, name := range []string{
		fmt.Sprintf("%s.test.%d", prefix, pid),
		fmt.Sprintf("%s.test.heap.%d", prefix, pid),
		fmt.Sprintf("%s.test.heap.%d.classes", prefix, pid),
	} {
		if fi, err := os.Stat(name); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (size %v)", name, err, fi)
		}
	}
}
