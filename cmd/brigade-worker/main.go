// Command brigade-worker is the worker alone: what `brigade worker` runs,
// in a binary that links nothing else, so that it starts faster on every
// event. `brigade server` runs it when it finds it next to itself, and
// `brigade worker` otherwise (docs/worker.md). It takes no arguments but
// `version`.
package main

import (
	"fmt"
	"os"

	"github.com/brigadeplatform/brigade/internal/workermain"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...",
// as for brigade.
var (
	version = "v0.1.0-dev"
	commit  = "unknown"
)

func main() {
	switch {
	case len(os.Args) == 2 && os.Args[1] == "version":
		fmt.Printf("brigade-worker %s (commit %s)\n", version, commit)
		return
	case len(os.Args) > 1:
		fmt.Fprintln(os.Stderr, "brigade-worker takes no arguments but `version`: brigade server starts it, with the event in BRIGADE_EVENT_FILE")
		os.Exit(2)
	}
	os.Exit(workermain.Main(os.Stdout, os.Stderr, version))
}
