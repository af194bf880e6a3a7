package sqlite

import "time"

// Observer is told how long the store's writes take, for monitoring
// (package metrics implements it; docs/metrics.md).
type Observer interface {
	// TxCommitted: a Tx call committed, d after it was made (waiting for
	// the writer included). Nested calls are part of their outer one.
	TxCommitted(d time.Duration)
	// BatchCommitted: one group commit of txs transactions took d, from
	// BEGIN to the end of COMMIT.
	BatchCommitted(d time.Duration, txs int)
}

// WithObserver reports commit times to o.
func WithObserver(o Observer) Option { return func(s *Store) { s.observer = o } }

type noObserver struct{}

func (noObserver) TxCommitted(time.Duration)         {}
func (noObserver) BatchCommitted(time.Duration, int) {}
