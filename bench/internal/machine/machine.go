// Package machine describes the machine a benchmark runs on, so that its
// figures can be read with the load they were measured under.
package machine

import (
	"os"
	"strings"
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
