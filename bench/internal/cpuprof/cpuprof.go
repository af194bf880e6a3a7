// Package cpuprof profiles one section of a benchmark harness.
package cpuprof

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
)

// During runs fn with this process's CPU profile written to file while it
// runs; with file "" it only runs fn.
func During(file string, fn func() error) error {
	if file == "" {
		return fn()
	}
	out, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	ferr := fn()
	pprof.StopCPUProfile()
	if err := out.Close(); err != nil {
		return errors.Join(ferr, fmt.Errorf("cpu profile: %w", err))
	}
	return ferr
}
