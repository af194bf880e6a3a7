package js

import (
	"context"
	"fmt"
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
)

// JobBatcher is a Host that can create several jobs at once, in order
// (the worker, in one request). CreateJobs returns each job's outcome, as
// CreateJob would have given it.
type JobBatcher interface {
	CreateJobs(ctx context.Context, jobs []JobToCreate) []error
}

// JobToCreate is one job of a CreateJobs call, with CreateJob's phases.
type JobToCreate struct {
	Job    core.Job
	Phases bool
}

// Job creations reach the Host in the order the script called run(): the
// API then sees (and queues) jobs in script order, e.g. a
// ConcurrentGroup's in declaration order. The original issued its POSTs in
// that order too, over separate connections, so that order was only
// likely; here it is guaranteed. One creation is under way at a time, and
// what the script asks for meanwhile goes together in the next, through
// JobBatcher when the Host has it: a group of twenty jobs takes two round
// trips, not twenty. Waiting for jobs is not serialised.
type createQueue struct {
	mu      sync.Mutex
	pending []*createReq // asked for, not yet handed to the Host
	sending bool         // a goroutine is handing them over
}

type createReq struct {
	job  JobToCreate
	err  error
	done chan struct{}
}

// add queues a creation; the script's goroutine calls it, in call order.
func (q *createQueue) add(job core.Job, phases bool) *createReq {
	r := &createReq{job: JobToCreate{Job: job, Phases: phases}, done: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, r)
	q.mu.Unlock()
	return r
}

// wait returns r's outcome. The first waiter to find nobody sending hands
// the queue over, batch after batch in order, until it is empty.
func (q *createQueue) wait(ctx context.Context, host Host, r *createReq) error {
	q.mu.Lock()
	if !q.sending {
		q.sending = true
		for len(q.pending) > 0 {
			batch := q.pending
			q.pending = nil
			q.mu.Unlock()
			send(ctx, host, batch)
			q.mu.Lock()
		}
		q.sending = false
	}
	q.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send hands a batch to the Host and settles each request.
func send(ctx context.Context, host Host, batch []*createReq) {
	if b, ok := host.(JobBatcher); ok && len(batch) > 1 {
		jobs := make([]JobToCreate, len(batch))
		for i, r := range batch {
			jobs[i] = r.job
		}
		errs := b.CreateJobs(ctx, jobs)
		for i, r := range batch {
			if i < len(errs) {
				r.err = errs[i]
			} else {
				r.err = fmt.Errorf("js: the host gave %d outcomes for %d jobs", len(errs), len(batch))
			}
			close(r.done)
		}
		return
	}
	for _, r := range batch {
		r.err = host.CreateJob(ctx, r.job.Job, r.job.Phases)
		close(r.done)
	}
}
