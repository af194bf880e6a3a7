// Package standby is how a worker process starts before its event exists.
//
// Starting a worker costs the process start and the first run of the
// script runtime's code, tens of milliseconds that would sit between an
// event and its script. So the local substrate keeps a worker started
// ahead of need: a standby. It runs the worker command with Env set and a
// pipe as file descriptor 3, warms up, and waits. When an event comes, the
// substrate writes one Launch (JSON) to that pipe and closes it; the
// standby moves into the event's folder, takes the launch's environment as
// its own, and runs the event as a worker started for it would. A standby
// whose pipe closes without a launch (the server stopped or no longer
// needs it) exits at once with status 0.
//
// A standby runs one event and exits, like any worker: nothing of one
// event's run is left for the next.
package standby

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Env marks a standby: it is set (to "1") in the environment the standby
// starts with, and never in a launch's.
const Env = "BRIGADE_WORKER_STANDBY"

// FD is the file descriptor a standby reads its launch from.
const FD = 3

// maxLaunch bounds a launch message; environments are far smaller.
const maxLaunch = 16 << 20

// Launch is what a standby needs to become an event's worker.
type Launch struct {
	Dir string   `json:"dir"` // working directory
	Env []string `json:"env"` // the whole environment, "KEY=value"
}

// Is reports whether this process was started as a standby.
func Is() bool { return os.Getenv(Env) != "" }

// ErrNoLaunch says the standby's pipe closed without a launch.
var ErrNoLaunch = errors.New("standby: the server closed the launch pipe without a launch")

// Await blocks until the launch arrives on FD, then applies it: working
// directory and environment (replacing the standby's own). It returns
// ErrNoLaunch when the pipe closes empty, which means: exit quietly.
func Await() (*Launch, error) {
	f := os.NewFile(FD, "standby-launch")
	if f == nil {
		return nil, fmt.Errorf("standby: file descriptor %d is not open", FD)
	}
	defer f.Close()
	l, err := Read(f)
	if err != nil {
		return nil, err
	}
	if err := l.apply(); err != nil {
		return nil, err
	}
	return l, nil
}

// Read decodes one launch from r, which must end after it.
func Read(r io.Reader) (*Launch, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxLaunch+1))
	if err != nil {
		return nil, fmt.Errorf("standby: reading the launch: %w", err)
	}
	if len(b) == 0 {
		return nil, ErrNoLaunch
	}
	if len(b) > maxLaunch {
		return nil, fmt.Errorf("standby: the launch is larger than %d bytes", maxLaunch)
	}
	var l Launch
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("standby: the launch is not valid JSON: %w", err)
	}
	if l.Dir == "" {
		return nil, errors.New("standby: the launch names no working directory")
	}
	return &l, nil
}

// Encode is the message the substrate writes for l.
func (l *Launch) Encode() ([]byte, error) { return json.Marshal(l) }

func (l *Launch) apply() error {
	if err := os.Chdir(l.Dir); err != nil {
		return fmt.Errorf("standby: moving into %s: %w", l.Dir, err)
	}
	os.Clearenv()
	for _, kv := range l.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("standby: setting %s: %w", k, err)
		}
	}
	return nil
}
