package js

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/brigadeplatform/brigade/internal/core"
)

// warmScript touches what every run uses: the bundler, a VM with the
// prelude, require of a dialect, an event handler and a job object.
const warmScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("warm", "up", async event => { new Job("warm", "none", event); });
events.process();
`

// Warm runs a small script once, discarding everything it writes, so that
// a process started ahead of its event (a standby worker) has its code
// paged in and its lazily built tables ready before the real script comes.
// It creates no job and reaches nothing outside the process.
func Warm(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "brigade-warm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "brigade.js"), []byte(warmScript), 0o600); err != nil {
		return err
	}
	ev := map[string]any{"id": "warm", "source": "warm", "type": "up", "project": map[string]any{"id": "warm"}}
	code, err := Run(ctx, Options{Dir: dir, Event: ev, Host: idleHost{}})
	if err == nil && code != 0 {
		err = errors.New("js: the warm-up script failed")
	}
	return err
}

// idleHost refuses everything: the warm-up script calls none of it.
type idleHost struct{}

var errWarm = errors.New("not available while warming up")

func (idleHost) CreateJob(context.Context, core.Job, bool) error { return errWarm }
func (idleHost) WaitJob(context.Context, string, func(core.JobPhase)) (core.JobPhase, error) {
	return "", errWarm
}
func (idleHost) JobLogs(context.Context, string) (string, error) { return "", errWarm }
func (idleHost) SetSummary(context.Context, string) error        { return errWarm }
