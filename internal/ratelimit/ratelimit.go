// Package ratelimit keeps a token bucket per key (a client's address):
// each attempt takes a token, tokens come back at a steady rate up to a
// burst, and an empty bucket says how long until the next token.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// maxKeys bounds the buckets kept: beyond it, full buckets (keys that have
// not been seen for long enough to refill) are dropped.
const maxKeys = 10_000

// Limiter is a set of token buckets. Safe for concurrent use.
type Limiter struct {
	mu      sync.Mutex
	perSec  float64
	burst   float64
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New allows burst attempts at once per key, then perMinute attempts a
// minute. now is the clock (nil: time.Now).
func New(perMinute float64, burst int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{perSec: perMinute / 60, burst: float64(max(burst, 1)), now: now, buckets: map[string]*bucket{}}
}

// refill brings b up to date at t.
func (l *Limiter) refill(b *bucket, t time.Time) {
	if d := t.Sub(b.last); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d.Seconds()*l.perSec)
		b.last = t
	}
}

// Take takes a token for key. When there is none it reports false and how
// long until there is one, in whole seconds.
func (l *Limiter) Take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxKeys {
			l.sweep(t)
		}
		b = &bucket{tokens: l.burst, last: t}
		l.buckets[key] = b
	}
	l.refill(b, t)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if l.perSec <= 0 {
		return false, time.Hour
	}
	// Whole seconds, rounded up (with a margin for rounding errors): what
	// a Retry-After header can say.
	secs := math.Ceil((1-b.tokens)/l.perSec - 1e-6)
	return false, time.Duration(max(secs, 1)) * time.Second
}

// Refund gives back a token taken for key (an attempt that should not
// count, such as a successful login).
func (l *Limiter) Refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		b.tokens = math.Min(l.burst, b.tokens+1)
	}
}

// sweep drops the buckets that are full at t: forgetting them changes
// nothing.
func (l *Limiter) sweep(t time.Time) {
	for k, b := range l.buckets {
		l.refill(b, t)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}
