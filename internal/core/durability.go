package core

import "context"

// durability is how soon a write made with a ctx must be committed and on
// disk (the value under durabilityKey; durable when absent).
type durability int

const (
	durable durability = iota
	relaxed
	unhurried
)

type durabilityKey struct{}

// Relaxed marks ctx so that the store may commit writes made with it
// without waiting for them to reach the disk (they still survive a crash of
// the process, just not of the machine). Only the platform's own
// bookkeeping uses it: leases, phases the runner reports, log lines.
// Anything a client is told was accepted (events, projects, secrets, jobs)
// is committed durably, and a durable commit also makes every relaxed one
// before it durable.
func Relaxed(ctx context.Context) context.Context {
	return context.WithValue(ctx, durabilityKey{}, relaxed)
}

// Unhurried is Relaxed for writes that nothing waits on: the store may also
// hold them back a little, to commit them together with the writes that
// come next (the audit log's batches). Use it only where a caller blocked
// on the write costs nobody time.
func Unhurried(ctx context.Context) context.Context {
	return context.WithValue(ctx, durabilityKey{}, unhurried)
}

// IsRelaxed reports whether ctx was marked by Relaxed or Unhurried.
func IsRelaxed(ctx context.Context) bool {
	v, _ := ctx.Value(durabilityKey{}).(durability)
	return v != durable
}

// IsUnhurried reports whether ctx was marked by Unhurried.
func IsUnhurried(ctx context.Context) bool {
	v, _ := ctx.Value(durabilityKey{}).(durability)
	return v == unhurried
}
