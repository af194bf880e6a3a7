package api

import "github.com/brigadeplatform/brigade/internal/core"

// Metrics is told what the service changed, for monitoring (package
// metrics implements it; docs/metrics.md). Config.Metrics nil reports
// nothing. A change is reported once the service's own transaction has
// succeeded; when the service is called inside a caller's transaction (the
// runner's), a failure of that enclosing transaction afterwards, which
// only a store error causes, leaves a change counted that did not stick.
type Metrics interface {
	// EventsAccepted: n events of a source were stored (one per
	// subscribed project).
	EventsAccepted(source string, n int)
	// WorkerPhase and JobPhase: a worker or a job reached a phase.
	WorkerPhase(core.WorkerPhase)
	JobPhase(core.JobPhase)
}

type noMetrics struct{}

func (noMetrics) EventsAccepted(string, int)   {}
func (noMetrics) WorkerPhase(core.WorkerPhase) {}
func (noMetrics) JobPhase(core.JobPhase)       {}

// moves collects the phases one operation moved a worker and jobs to, so
// that they are reported only once its transaction committed; each attempt
// of a retried transaction starts afresh (reset).
type moves struct {
	worker core.WorkerPhase // "" when the worker did not move
	jobs   []core.JobPhase
}

func (m *moves) reset() { m.worker, m.jobs = "", m.jobs[:0] }

func (m *moves) job(p core.JobPhase) {
	if m != nil {
		m.jobs = append(m.jobs, p)
	}
}

// report tells the metrics what m collected.
func (s *Service) report(m *moves) {
	if m.worker != "" {
		s.metrics.WorkerPhase(m.worker)
	}
	for _, p := range m.jobs {
		s.metrics.JobPhase(p)
	}
}
