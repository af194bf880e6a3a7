package worker

import (
	"context"

	"github.com/brigadeplatform/brigade/internal/js"
	"github.com/brigadeplatform/brigade/internal/standby"
)

// AwaitStandby is the first thing the worker command does. In a process
// started as a standby (package standby) it warms the script runtime up,
// then waits for the event: it returns once the launch has set the working
// directory and the environment a worker started for that event has, or
// standby.ErrNoLaunch when the server let the standby go (exit 0 then). In
// any other process it returns nil at once.
func AwaitStandby() error {
	if !standby.Is() {
		return nil
	}
	// A failed warm-up only costs the first run its speed.
	_ = js.Warm(context.Background())
	_, err := standby.Await()
	return err
}
