// Package machine describes the machine a benchmark runs on, so that its
// figures can be read with the load they were measured under.
package machine

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LoadAvg is the first three fields of /proc/loadavg (as uptime prints
// them).
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	f := strings.Fields(string(b))
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

// FileOps measures, in dir, the CPU time one mkdir and one create of a
// small file cost this process (the median of n of each). On some virtual
// machines these vary tenfold from minute to minute (40 µs to 900 µs were
// seen on the same ext4 disk), and a server makes a few per event: print
// them beside figures that include them.
func FileOps(dir string, n int) (mkdir, create time.Duration, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d, err := os.MkdirTemp(dir, "fileops-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(d)
	mk := make([]time.Duration, 0, n)
	cr := make([]time.Duration, 0, n)
	for i := range n {
		sub := filepath.Join(d, strconv.Itoa(i))
		c0 := cpuTime()
		if err := os.Mkdir(sub, 0o755); err != nil {
			return 0, 0, err
		}
		c1 := cpuTime()
		if err := os.WriteFile(filepath.Join(sub, "f"), []byte("x"), 0o644); err != nil {
			return 0, 0, err
		}
		c2 := cpuTime()
		mk, cr = append(mk, c1-c0), append(cr, c2-c1)
	}
	slices.Sort(mk)
	slices.Sort(cr)
	return mk[n/2], cr[n/2], nil
}

// DescribeFileOps is FileOps as a line of a benchmark's header.
func DescribeFileOps(dir string) string {
	mkdir, create, err := FileOps(dir, 200)
	if err != nil {
		return "file operations: " + err.Error()
	}
	return fmt.Sprintf("file operations in %s: mkdir %.0f µs, create %.0f µs of CPU (median of 200)",
		dir, float64(mkdir.Nanoseconds())/1000, float64(create.Nanoseconds())/1000)
}

// cpuTime is the CPU time the calling thread has used (FileOps locks
// itself to one thread).
func cpuTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
