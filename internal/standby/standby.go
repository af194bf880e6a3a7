// Package standby is how a worker process starts before its event exists.
//
// Starting a worker costs the process start and the first run of the
// script runtime's code, tens of milliseconds of CPU that would sit between
// an event and its script. So the local substrate keeps workers started
// ahead of need: standbys. A standby runs the worker command with Env set
// and a pipe as file descriptor FD, warms up, and waits. When an event
// comes, the substrate writes one Launch (a line of JSON) to that pipe; the
// standby moves into the event's folder, takes the launch's environment as
// its own (nothing of its previous one is left), and runs the event as a
// worker started for it would, its output going to its stdout and stderr.
//
// A launch without End is the standby's last: it exits with the event's
// exit code, like any worker. A launch with End asks for more: once the
// event's run is over and its output written, the standby writes End, a
// space, the exit code and a newline to its stdout, and waits for the next
// launch. The substrate reads End as the end of that event's output and of
// its run, and may hand the same process another event. A standby that is
// stopped (SIGTERM) during a run exits without writing End. A standby whose
// pipe closes (the server stopped or no longer needs it) exits at once,
// with status 0.
package standby

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Env marks a standby: it is set in the environment the standby starts
// with (to Warm or Cold), and never in a launch's.
const Env = "BRIGADE_WORKER_STANDBY"

// Values of Env: Warm asks the standby to warm up before it waits for its
// first launch; Cold, started for a launch that is already waiting, does
// without.
const (
	Warm = "warm"
	Cold = "cold"
)

// FD is the file descriptor a standby reads its launch from.
const FD = 3

// maxLaunch bounds a launch message; environments are far smaller.
const maxLaunch = 16 << 20

// Launch is what a standby needs to become an event's worker.
type Launch struct {
	Dir string   `json:"dir"`           // working directory
	Env []string `json:"env"`           // the whole environment, "KEY=value"
	End string   `json:"end,omitempty"` // written when the run is over (see the package doc)
}

// Is reports whether this process was started as a standby.
func Is() bool { return os.Getenv(Env) != "" }

// WarmUp reports whether this standby should warm up first.
func WarmUp() bool { return os.Getenv(Env) != Cold }

// ErrNoLaunch says the standby's pipe closed without a launch.
var ErrNoLaunch = errors.New("standby: the server closed the launch pipe without a launch")

// Receiver reads a standby's launches, one per line.
type Receiver struct{ r *bufio.Reader }

// NewReceiver reads launches from r.
func NewReceiver(r io.Reader) *Receiver { return &Receiver{r: bufio.NewReaderSize(r, 64<<10)} }

// Listen opens the standby's launch pipe, FD.
func Listen() (*Receiver, error) {
	f := os.NewFile(FD, "standby-launch")
	if f == nil {
		return nil, fmt.Errorf("standby: file descriptor %d is not open", FD)
	}
	return NewReceiver(f), nil
}

// Next blocks until the next launch arrives and returns it; ErrNoLaunch
// when the pipe closes first.
func (rc *Receiver) Next() (*Launch, error) {
	var line []byte
	for {
		chunk, err := rc.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLaunch {
			return nil, fmt.Errorf("standby: a launch is larger than %d bytes", maxLaunch)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if errors.Is(err, io.EOF) && len(bytes.TrimSpace(line)) == 0 {
			return nil, ErrNoLaunch
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("standby: reading a launch: %w", err)
		}
		break
	}
	var l Launch
	if err := json.Unmarshal(line, &l); err != nil {
		return nil, fmt.Errorf("standby: a launch is not valid JSON: %w", err)
	}
	if l.Dir == "" {
		return nil, errors.New("standby: a launch names no working directory")
	}
	return &l, nil
}

// Encode is the line the substrate writes for l.
func (l *Launch) Encode() ([]byte, error) {
	b, err := json.Marshal(l)
	return append(b, '\n'), err
}

// Apply makes the launch's folder the working directory and its
// environment the process's whole environment.
func (l *Launch) Apply() error {
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
