package auth

import (
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
)

// SessionCache remembers sessions found by token hash, with the principal
// built for each, so that a request with a token seen before costs no
// database lookup. It holds sessions, not verdicts: the caller checks expiry
// and the rest on every use, as for a session just read. Forget drops a
// session (logout); a lookup that raced with it is not cached (see Ticket).
// Safe for concurrent use.
type SessionCache struct {
	mu    sync.Mutex
	max   int
	gen   uint64                   // bumped by Forget
	byKey map[string]cachedSession // by token hash
}

type cachedSession struct {
	sess *core.Session
	p    *Principal
}

// NewSessionCache returns a cache of at most max sessions (<= 0: 1024).
func NewSessionCache(max int) *SessionCache {
	if max <= 0 {
		max = 1024
	}
	return &SessionCache{max: max, byKey: make(map[string]cachedSession)}
}

// Get returns the session cached for a token hash and its principal. The
// caller must not modify either.
func (c *SessionCache) Get(tokenHash string) (*core.Session, *Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[tokenHash]
	return e.sess, e.p, ok
}

// Ticket is taken before reading a session from the store and handed to
// Put: if a Forget ran in between, the session read may be one that was
// being deleted, and Put drops it.
func (c *SessionCache) Ticket() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Put caches sess and its principal p under the session's token hash unless
// a Forget ran since ticket was taken. The cache keeps both: the caller must
// not modify them afterwards.
func (c *SessionCache) Put(ticket uint64, sess *core.Session, p *Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ticket != c.gen {
		return
	}
	if _, ok := c.byKey[sess.TokenHash]; !ok && len(c.byKey) >= c.max {
		for k := range c.byKey { // evict an arbitrary entry
			delete(c.byKey, k)
			break
		}
	}
	c.byKey[sess.TokenHash] = cachedSession{sess, p}
}

// Forget drops the session with id, and makes lookups begun before it
// uncacheable. Call it once the session's deletion has committed (a lookup
// that starts later cannot find it).
func (c *SessionCache) Forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.byKey {
		if e.sess.ID == id {
			delete(c.byKey, k)
		}
	}
}
