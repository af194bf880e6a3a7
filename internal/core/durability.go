package core

import "context"

type relaxedKey struct{}

// Relaxed marks ctx so that the store may commit writes made with it
// without waiting for them to reach the disk (they still survive a crash of
// the process, just not of the machine). Only the platform's own
// bookkeeping uses it: leases, phases the runner reports, log lines.
// Anything a client is told was accepted (events, projects, secrets, jobs)
// is committed durably, and a durable commit also makes every relaxed one
// before it durable.
func Relaxed(ctx context.Context) context.Context {
	return context.WithValue(ctx, relaxedKey{}, true)
}

// IsRelaxed reports whether ctx was marked by Relaxed.
func IsRelaxed(ctx context.Context) bool {
	v, _ := ctx.Value(relaxedKey{}).(bool)
	return v
}
