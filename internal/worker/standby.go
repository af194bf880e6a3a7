package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/brigadeplatform/brigade/internal/js"
	"github.com/brigadeplatform/brigade/internal/standby"
)

// Standby is the worker command of a process started as a standby
// (package standby): it warms the script runtime up, then runs the events
// the substrate hands it, one at a time, each with run under a context
// that SIGTERM and SIGINT cancel, until the substrate lets it go. It
// returns the process's exit code.
func Standby(run func(ctx context.Context) int) int {
	if standby.WarmUp() {
		// A failed warm-up only costs the first run its speed.
		_ = js.Warm(context.Background())
	}
	rc, err := standby.Listen()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		l, err := rc.Next()
		if errors.Is(err, standby.ErrNoLaunch) {
			return 0
		}
		if err == nil {
			err = l.Apply()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			return 1
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx)
		stopped := ctx.Err() != nil
		stop()
		if stopped || l.End == "" {
			return code
		}
		// Run has written out all of its output: End follows it.
		if _, err := fmt.Fprintf(os.Stdout, "%s %d\n", l.End, code); err != nil {
			return code
		}
	}
}
