package local

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
)

// confineVar marks every process of a job (see Confinement in the package
// documentation). Its value is "<instance> <seq> <eventID> <eventsDir>":
// the substrate that started the job, the job's number there, its event and
// the events folder of the data dir.
const confineVar = "BRIGADE_LOCAL_JOB"

// sweepGap is the least time between two sweeps: however many jobs end, the
// process table is read at most a few times a second, off their path.
const sweepGap = 200 * time.Millisecond

// confiner kills the processes of jobs that ended (or of a previous server
// on the same data dir) wherever they moved: out of their process group,
// into a session of their own, or under another parent. Its sweeps run on a
// goroutine that exists only while one is due.
type confiner struct {
	instance  string
	eventsDir string
	log       interface{ Info(string, ...any) }
	seq       atomic.Uint64
	quit      chan struct{}
	sweeping  sync.WaitGroup

	mu      sync.Mutex
	live    map[uint64]bool // jobs of this substrate that still run
	running bool            // a sweeper goroutine runs
	pending bool            // it must sweep again before it returns
	closed  bool
	started uint64 // sweeps started so far; the number of the latest
	clean   uint64 // number of the latest sweep that read /proc and killed nothing
}

func newConfiner(eventsDir string, log interface{ Info(string, ...any) }) *confiner {
	c := &confiner{instance: auth.NewToken()[:16], eventsDir: eventsDir, log: log, live: map[uint64]bool{},
		quit: make(chan struct{})}
	c.trigger() // the first sweep finds what a previous server left
	return c
}

// start registers a job that is about to start and returns its number and
// the value of confineVar for its processes.
func (c *confiner) start(eventID string) (uint64, string) {
	n := c.seq.Add(1)
	c.mu.Lock()
	c.live[n] = true
	c.mu.Unlock()
	return n, fmt.Sprintf("%s %d %s %s", c.instance, n, eventID, c.eventsDir)
}

// end says job n's processes must all go now; the sweep that kills them
// runs in the background.
func (c *confiner) end(n uint64) {
	c.mu.Lock()
	delete(c.live, n)
	c.mu.Unlock()
	c.trigger()
}

// trigger asks for a sweep: it starts the sweeper, or asks the running one
// to sweep once more (requests made meanwhile coalesce).
func (c *confiner) trigger() {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
	case c.running:
		c.pending = true
	default:
		c.running = true
		c.sweeping.Add(1)
		go c.sweeper()
	}
}

// close stops the sweeper; the caller sweeps one last time itself. It may
// be called more than once.
func (c *confiner) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.quit)
	}
	c.mu.Unlock()
	c.sweeping.Wait()
}

func (c *confiner) sweeper() {
	defer c.sweeping.Done()
	for {
		c.mu.Lock()
		c.started++
		n := c.started
		c.mu.Unlock()
		killed, ok := sweep(c.doomed, c.log)
		c.mu.Lock()
		if killed > 0 {
			// What a killed process forked while the table was read is
			// only seen by another look.
			c.pending = true
		} else if ok && n > c.clean {
			c.clean = n
		}
		c.mu.Unlock()
		t := time.NewTimer(sweepGap)
		select {
		case <-c.quit:
			t.Stop()
		case <-t.C:
		}
		c.mu.Lock()
		if !c.pending || c.closed {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.pending = false
		c.mu.Unlock()
	}
}

// stamp returns a mark of the present for sweptSince: take it once every
// job whose processes must be gone has ended.
func (c *confiner) stamp() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// sweptSince reports whether a sweep that started after stamp read the
// whole process table and found nothing to kill: every process of the jobs
// that had ended by then is gone (as far as marks tell, see Confinement).
func (c *confiner) sweptSince(stamp uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clean > stamp
}

// doomed reports whether a process whose confineVar holds mark must be
// killed: it belongs to a job of this substrate that ended, or to a job a
// previous server on this data dir started.
func (c *confiner) doomed(mark string) bool {
	f := strings.SplitN(mark, " ", 4)
	if len(f) != 4 || f[3] != c.eventsDir {
		return false
	}
	if f[0] != c.instance {
		return true
	}
	n, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.live[n]
}
