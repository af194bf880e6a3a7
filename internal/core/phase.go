package core

// WorkerPhase is where a worker is in its life.
type WorkerPhase string

// JobPhase is where a job is in its life. Jobs use the same ten phases.
type JobPhase = WorkerPhase

// The ten phases of workers and jobs.
const (
	PhaseAborted          WorkerPhase = "ABORTED"
	PhaseCanceled         WorkerPhase = "CANCELED"
	PhaseFailed           WorkerPhase = "FAILED"
	PhasePending          WorkerPhase = "PENDING"
	PhaseRunning          WorkerPhase = "RUNNING"
	PhaseSchedulingFailed WorkerPhase = "SCHEDULING_FAILED"
	PhaseStarting         WorkerPhase = "STARTING"
	PhaseSucceeded        WorkerPhase = "SUCCEEDED"
	PhaseTimedOut         WorkerPhase = "TIMED_OUT"
	PhaseUnknown          WorkerPhase = "UNKNOWN"
)

// AllPhases lists every phase in alphabetical order.
var AllPhases = []WorkerPhase{
	PhaseAborted, PhaseCanceled, PhaseFailed, PhasePending, PhaseRunning,
	PhaseSchedulingFailed, PhaseStarting, PhaseSucceeded, PhaseTimedOut, PhaseUnknown,
}

// IsTerminal reports whether nothing more will happen to a worker or job in
// this phase.
func (p WorkerPhase) IsTerminal() bool {
	switch p {
	case PhaseAborted, PhaseCanceled, PhaseFailed, PhaseSchedulingFailed,
		PhaseSucceeded, PhaseTimedOut:
		return true
	}
	return false
}

// OnSubstrate lists the phases of a worker or job that was handed to the
// substrate and has not been reported finished: it holds capacity, and
// after a restart it is followed again or finished. A function, so that no
// caller can change the list.
func OnSubstrate() []WorkerPhase {
	return []WorkerPhase{PhaseStarting, PhaseRunning, PhaseUnknown}
}

// IsOnSubstrate reports whether p is one of OnSubstrate's phases.
func (p WorkerPhase) IsOnSubstrate() bool {
	return p == PhaseStarting || p == PhaseRunning || p == PhaseUnknown
}

// IsValid reports whether p is one of the ten phases.
func (p WorkerPhase) IsValid() bool {
	for _, q := range AllPhases {
		if p == q {
			return true
		}
	}
	return false
}
