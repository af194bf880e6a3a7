// Package notify is the in-process fan-out behind core.Store.Subscribe.
//
// A store publishes the topics a commit touched once the commit is durable;
// every subscriber of such a topic gets a value on its channel. Channels hold
// one value, so bursts coalesce and Publish never blocks on a slow reader: a
// subscriber learns "something changed since you last looked" and re-reads
// the store. The SQLite store publishes from its writer; the PostgreSQL store
// publishes what LISTEN/NOTIFY delivers, so both share this hub.
package notify

import "sync"

// Hub fans topic notifications out to subscribers. The zero value is not
// usable; call New.
type Hub struct {
	mu     sync.Mutex
	subs   map[string]map[*sub]struct{}
	closed bool
}

type sub struct {
	ch   chan struct{}
	once sync.Once
}

// New returns an empty hub.
func New() *Hub {
	return &Hub{subs: make(map[string]map[*sub]struct{})}
}

// Subscribe returns a channel that receives a value after every Publish that
// names topic, until cancel is called. Cancel closes the channel and may be
// called more than once. Subscribing to a closed hub returns a closed channel.
func (h *Hub) Subscribe(topic string) (<-chan struct{}, func()) {
	s := &sub{ch: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	set := h.subs[topic]
	if set == nil {
		set = make(map[*sub]struct{})
		h.subs[topic] = set
	}
	set[s] = struct{}{}
	cancel := func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if set := h.subs[topic]; set != nil {
			if _, ok := set[s]; ok {
				delete(set, s)
				if len(set) == 0 {
					delete(h.subs, topic)
				}
			}
		}
		s.close()
	}
	return s.ch, cancel
}

func (s *sub) close() { s.once.Do(func() { close(s.ch) }) }

// Publish wakes every subscriber of each topic. It never blocks: a
// subscriber that has not yet consumed its previous value keeps just one.
func (h *Hub) Publish(topics ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range topics {
		h.wakeLocked(t)
	}
}

// PublishSet is Publish for a set of topics.
func (h *Hub) PublishSet(topics map[string]struct{}) {
	if len(topics) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for t := range topics {
		h.wakeLocked(t)
	}
}

// PublishAll wakes every subscriber of every topic: for a store that may
// have missed notifications (a PostgreSQL listener that reconnected), so
// that each follower re-reads what it follows.
func (h *Hub) PublishAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for t := range h.subs {
		h.wakeLocked(t)
	}
}

func (h *Hub) wakeLocked(topic string) {
	for s := range h.subs[topic] {
		select {
		case s.ch <- struct{}{}:
		default:
		}
	}
}

// Close closes every subscriber's channel, so followers wake, find the store
// gone and stop. Later subscriptions get a closed channel.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for topic, set := range h.subs {
		for s := range set {
			s.close()
		}
		delete(h.subs, topic)
	}
}
