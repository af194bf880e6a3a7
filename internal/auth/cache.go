package auth

import (
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
)

// tokenCache remembers what a token hash resolved to, so that a request
// with a token seen before costs no database lookup. Lookups take a ticket
// before reading the store and hand it to put: if anything was forgotten in
// between, what they read may be stale and is not cached. Safe for
// concurrent use.
type tokenCache[V any] struct {
	mu    sync.Mutex
	max   int
	gen   uint64       // bumped by every forget
	byKey map[string]V // by token hash
}

func newTokenCache[V any](max int) tokenCache[V] {
	if max <= 0 {
		max = 1024
	}
	return tokenCache[V]{max: max, byKey: make(map[string]V)}
}

func (c *tokenCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.byKey[key]
	return v, ok
}

func (c *tokenCache[V]) ticket() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *tokenCache[V]) put(ticket uint64, key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ticket != c.gen {
		return
	}
	if _, ok := c.byKey[key]; !ok && len(c.byKey) >= c.max {
		for k := range c.byKey { // evict an arbitrary entry
			delete(c.byKey, k)
			break
		}
	}
	c.byKey[key] = v
}

// forget drops the entries drop selects (every entry when drop is nil) and
// makes lookups begun before it uncacheable.
func (c *tokenCache[V]) forget(drop func(V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, v := range c.byKey {
		if drop == nil || drop(v) {
			delete(c.byKey, k)
		}
	}
}

// SessionCache remembers sessions found by token hash, with the principal
// built for each. It holds sessions, not verdicts: the caller checks expiry
// and the rest on every use, as for a session just read. Forget drops a
// session (logout), ForgetAll every one (a user's roles or lock changed); a
// lookup that raced with either is not cached (see Ticket).
type SessionCache struct{ c tokenCache[cachedSession] }

type cachedSession struct {
	sess *core.Session
	p    *Principal
}

// NewSessionCache returns a cache of at most max sessions (<= 0: 1024).
func NewSessionCache(max int) *SessionCache {
	return &SessionCache{c: newTokenCache[cachedSession](max)}
}

// Get returns the session cached for a token hash and its principal. The
// caller must not modify either.
func (c *SessionCache) Get(tokenHash string) (*core.Session, *Principal, bool) {
	e, ok := c.c.get(tokenHash)
	return e.sess, e.p, ok
}

// Ticket is taken before reading a session from the store and handed to
// Put: if a Forget ran in between, the session read may be one that was
// being deleted, and Put drops it.
func (c *SessionCache) Ticket() uint64 { return c.c.ticket() }

// Put caches sess and its principal p under the session's token hash unless
// a Forget ran since ticket was taken. The cache keeps both: the caller must
// not modify them afterwards.
func (c *SessionCache) Put(ticket uint64, sess *core.Session, p *Principal) {
	c.c.put(ticket, sess.TokenHash, cachedSession{sess, p})
}

// Forget drops the session with id, and makes lookups begun before it
// uncacheable. Call it once the session's deletion has committed (a lookup
// that starts later cannot find it).
func (c *SessionCache) Forget(id string) {
	c.c.forget(func(e cachedSession) bool { return e.sess.ID == id })
}

// ForgetAll drops every session but root's: what a user may do is read
// again on its next request. Call it once a change to users or roles has
// committed.
func (c *SessionCache) ForgetAll() {
	c.c.forget(func(e cachedSession) bool { return !e.sess.Root })
}

// AccountCache remembers the principals of service accounts by token hash,
// with the roles they held when read. ForgetAll drops them all, after any
// change to accounts or roles.
type AccountCache struct{ c tokenCache[*Principal] }

// NewAccountCache returns a cache of at most max accounts (<= 0: 1024).
func NewAccountCache(max int) *AccountCache {
	return &AccountCache{c: newTokenCache[*Principal](max)}
}

// Get returns the principal cached for a token hash; do not modify it.
func (c *AccountCache) Get(tokenHash string) (*Principal, bool) { return c.c.get(tokenHash) }

// Ticket is taken before reading an account from the store (see Put).
func (c *AccountCache) Ticket() uint64 { return c.c.ticket() }

// Put caches p unless ForgetAll ran since ticket was taken.
func (c *AccountCache) Put(ticket uint64, tokenHash string, p *Principal) {
	c.c.put(ticket, tokenHash, p)
}

// ForgetAll drops every account and makes lookups begun before it
// uncacheable.
func (c *AccountCache) ForgetAll() { c.c.forget(nil) }
