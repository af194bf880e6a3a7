package runner

import (
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Metrics is told what the runner did, for monitoring (package metrics
// implements it; docs/metrics.md). Config.Metrics nil reports nothing.
type Metrics interface {
	// Leased: n tasks of a kind were leased to be started.
	Leased(kind core.TaskKind, n int)
	// Started: a worker or job reported RUNNING, wait after its task was
	// queued (the event's acceptance, or the job's creation).
	Started(kind core.TaskKind, wait time.Duration)
	// StartFailed: a start failed; its task was put back or given up.
	StartFailed(kind core.TaskKind)
}

type noMetrics struct{}

func (noMetrics) Leased(core.TaskKind, int)            {}
func (noMetrics) Started(core.TaskKind, time.Duration) {}
func (noMetrics) StartFailed(core.TaskKind)            {}
