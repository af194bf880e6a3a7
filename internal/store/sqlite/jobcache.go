package sqlite

import (
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
)

// jobCache holds the phase and status of jobs, and the phase and token of
// workers, as this store last committed them, for the reads that follow a
// job or a worker while it runs: a status watch reads the status on every
// change, the runner's followers the phase, and every request of a worker
// looks up the event its token belongs to. A read on the read pool right
// after a commit costs ~20 µs more than one from memory (SQLite drops a
// reader's page cache whenever the database changed), and a one-job event
// makes a dozen of them.
//
// Only the writer fills it, after a commit, with what the commit wrote;
// reads never fill it (a read may race a commit and bring back the value
// before it). So an entry is what the database holds, and a job or worker
// it does not hold is read from the database. Whatever removes them (an
// event's or a project's deletion) removes their entries in the same way,
// and a
// COMMIT that failed, which may have happened after all, empties it.
// Reads inside a transaction never use it: they must see the
// transaction's own writes.
type jobCache struct {
	mu      sync.Mutex
	m       map[string]map[string]cachedJob // event id → job name → entry
	workers map[string]core.WorkerPhase     // event id → its worker's phase
	tokens  map[string]string               // worker token hash → event id
	tokenOf map[string]string               // event id → its worker's token hash
	n       int                             // jobs, workers and tokens held
	closed  bool                            // the store closed: reads go to it (and fail)
}

// cachedJob is a job's phase and its status as stored (JSON; "" when the
// job has none).
type cachedJob struct {
	phase  core.JobPhase
	status string
}

// maxCachedJobs bounds the cache; past it, it starts again empty (jobs
// that are still followed come back with their next change).
const maxCachedJobs = 4096

// jobChange is what a transaction did to jobs or a worker, applied to the
// cache once it commits: a job's new entry (job), a worker's new phase
// (worker), its new token hash (token; "" when it has none), or else the
// removal of an event's entries.
type jobChange struct {
	event, name string
	job         *cachedJob
	worker      core.WorkerPhase
	token       *string
}

func (c *jobCache) get(event, name string) (cachedJob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.m[event][name]
	return j, ok && !c.closed
}

func (c *jobCache) workerPhase(event string) (core.WorkerPhase, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.workers[event]
	return p, ok && !c.closed
}

// tokenEvent returns the event whose worker holds the token hash.
func (c *jobCache) tokenEvent(hash string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.tokens[hash]
	return id, ok && !c.closed
}

// apply records committed changes, in commit order.
func (c *jobCache) apply(changes []jobChange) {
	if len(changes) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range changes {
		if (ch.worker != "" || ch.job != nil || ch.token != nil) && c.n >= maxCachedJobs {
			c.empty()
		}
		switch {
		case ch.token != nil:
			c.dropToken(ch.event)
			if *ch.token != "" {
				if c.tokens == nil {
					c.tokens, c.tokenOf = map[string]string{}, map[string]string{}
				}
				c.tokens[*ch.token] = ch.event
				c.tokenOf[ch.event] = *ch.token
				c.n++
			}
		case ch.worker != "":
			if c.workers == nil {
				c.workers = map[string]core.WorkerPhase{}
			}
			if _, ok := c.workers[ch.event]; !ok {
				c.n++
			}
			c.workers[ch.event] = ch.worker
		case ch.job == nil:
			c.n -= len(c.m[ch.event])
			delete(c.m, ch.event)
			if _, ok := c.workers[ch.event]; ok {
				c.n--
				delete(c.workers, ch.event)
			}
			c.dropToken(ch.event)
		default:
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

// dropToken forgets the token of event's worker; c.mu is held.
func (c *jobCache) dropToken(event string) {
	if h, ok := c.tokenOf[event]; ok {
		delete(c.tokens, h)
		delete(c.tokenOf, event)
		c.n--
	}
}

// empty forgets every entry; c.mu is held.
func (c *jobCache) empty() { c.m, c.workers, c.tokens, c.tokenOf, c.n = nil, nil, nil, nil, 0 }

// clear empties the cache.
func (c *jobCache) clear() {
	c.mu.Lock()
	c.empty()
	c.mu.Unlock()
}

// shut empties the cache for good, as the store closes: reads then fail
// as the store's do (a watch ends on that), rather than carry on from
// memory.
func (c *jobCache) shut() {
	c.mu.Lock()
	c.empty()
	c.closed = true
	c.mu.Unlock()
}

// setJob records that the transaction wrote a job's phase and status.
func (st *txState) setJob(event, name string, phase core.JobPhase, status string) {
	st.jobs = append(st.jobs, jobChange{event: event, name: name, job: &cachedJob{phase: phase, status: status}})
}

// setWorker records that the transaction wrote a worker's phase.
func (st *txState) setWorker(event string, phase core.WorkerPhase) {
	if phase == "" {
		st.dropJobs(event) // no phase to keep: the event is read from the database
		return
	}
	st.jobs = append(st.jobs, jobChange{event: event, worker: phase})
}

// setToken records that the transaction set the token hash of event's
// worker ("": it has none).
func (st *txState) setToken(event, hash string) {
	st.jobs = append(st.jobs, jobChange{event: event, token: &hash})
}

// dropJobs records that the transaction removed event (its worker and
// jobs).
func (st *txState) dropJobs(event string) {
	st.jobs = append(st.jobs, jobChange{event: event})
}
