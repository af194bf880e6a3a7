package sqlite

import (
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
)

// jobCache holds the phase and status of jobs as this store last committed
// them, for the reads that follow a job while it runs: a status watch
// reads the status on every change, the runner's follower the phase. A
// read on the read pool right after a commit costs ~20 µs more than one
// from memory (SQLite drops a reader's page cache whenever the database
// changed), and a one-job event makes a dozen of them.
//
// Only the writer fills it, after a commit, with what the commit wrote;
// reads never fill it (a read may race a commit and bring back the value
// before it). So an entry is what the database holds, and a job it does
// not hold is read from the database. Whatever removes jobs (an event's
// or a project's deletion) removes their entries in the same way, and a
// COMMIT that failed, which may have happened after all, empties it.
// Reads inside a transaction never use it: they must see the
// transaction's own writes.
type jobCache struct {
	mu sync.Mutex
	m  map[string]map[string]cachedJob // event id → job name → entry
	n  int
}

// cachedJob is a job's phase and its status as stored (JSON; nil when the
// job has none).
type cachedJob struct {
	phase  core.JobPhase
	status []byte
}

// maxCachedJobs bounds the cache; past it, it starts again empty (jobs
// that are still followed come back with their next change).
const maxCachedJobs = 4096

// jobChange is what a transaction did to jobs, applied to the cache once
// it commits.
type jobChange struct {
	event, name string // name "": every job of event; event "": every job
	job         *cachedJob
}

func (c *jobCache) get(event, name string) (cachedJob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.m[event][name]
	return j, ok
}

// apply records committed changes, in commit order.
func (c *jobCache) apply(changes []jobChange) {
	if len(changes) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range changes {
		switch {
		case ch.event == "":
			c.m, c.n = nil, 0
		case ch.name == "":
			c.n -= len(c.m[ch.event])
			delete(c.m, ch.event)
		default:
			if c.n >= maxCachedJobs {
				c.m, c.n = nil, 0
			}
			if c.m == nil {
				c.m = map[string]map[string]cachedJob{}
			}
			jobs := c.m[ch.event]
			if jobs == nil {
				jobs = map[string]cachedJob{}
				c.m[ch.event] = jobs
			}
			if _, ok := jobs[ch.name]; !ok {
				c.n++
			}
			jobs[ch.name] = *ch.job
		}
	}
}

// clear empties the cache.
func (c *jobCache) clear() { c.apply([]jobChange{{}}) }

// setJob records that the transaction wrote a job's phase and status.
func (st *txState) setJob(event, name string, phase core.JobPhase, status []byte) {
	st.jobs = append(st.jobs, jobChange{event: event, name: name, job: &cachedJob{phase: phase, status: status}})
}

// dropJobs records that the transaction removed every job of event, or of
// every event when event is "".
func (st *txState) dropJobs(event string) {
	st.jobs = append(st.jobs, jobChange{event: event})
}
