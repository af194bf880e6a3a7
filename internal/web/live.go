package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
)

// Live updates are server-sent events: the server renders the live part
// of a page again after a change the store announces (core.Store.Subscribe)
// and sends the HTML; the page's script swaps it in. Changes are
// coalesced: at most one render per minInterval, however many commits.
const (
	minInterval = 300 * time.Millisecond
	// runningTick re-renders a running event's timeline now and then so
	// that its running bars grow without a change in the store.
	runningTick = 2 * time.Second
	// retryMillis is how long a browser waits before reconnecting.
	retryMillis = 5000
)

type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func newSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w}
	s.f, _ = w.(http.Flusher)
	fmt.Fprintf(w, "retry: %d\n\n", retryMillis)
	s.flush()
	return s
}

func (s *sse) flush() {
	if s.f != nil {
		s.f.Flush()
	}
}

// send writes one message; data may hold newlines (each line is sent as
// its own data field, and the browser joins them again).
func (s *sse) send(event, data string, id int64) error {
	var b strings.Builder
	b.WriteString("event: " + event + "\n")
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: " + strings.TrimSuffix(line, "\r") + "\n")
	}
	if id > 0 {
		fmt.Fprintf(&b, "id: %d\n", id)
	}
	b.WriteString("\n")
	if _, err := s.w.Write([]byte(b.String())); err != nil {
		return err
	}
	s.flush()
	return nil
}

// follow renders and sends until render says the page is final or the
// browser leaves: at once, then after every change on changes (and every
// tick, if not nil), no more often than minInterval.
func follow(ctx context.Context, w http.ResponseWriter, changes <-chan struct{}, tick <-chan time.Time,
	render func() (html string, final bool, err error)) {
	s := newSSE(w)
	last := ""
	for {
		html, final, err := render()
		if err != nil {
			_, msg := classify(err)
			s.send("gone", msg, 0)
			return
		}
		if html != last {
			if s.send("update", html, 0) != nil {
				return
			}
			last = html
		}
		if final {
			s.send("done", "done", 0)
			return
		}
		select {
		case <-changes:
		case <-tick:
		case <-ctx.Done():
			return
		}
		if !pause(ctx, minInterval) {
			return
		}
	}
}

// eventLive follows an event page's live part until the event is over.
func (d *Dashboard) eventLive(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := r.PathValue("id")
	changes, cancel := d.svc.Changes(id)
	defer cancel()
	t := time.NewTicker(runningTick)
	defer t.Stop()
	follow(r.Context(), w, changes, t.C, func() (string, bool, error) {
		v, err := d.event(r, p, id)
		if err != nil {
			return "", false, err
		}
		html, err := d.fragment("event", "live", v)
		return html, !v.Running, err
	})
}

// projectsLive follows the projects page: new events (the queue) and the
// workers of the events it shows.
func (d *Dashboard) projectsLive(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	d.followList(w, r, func() (string, []string, error) {
		v, err := d.projects(r)
		if err != nil {
			return "", nil, err
		}
		var ids []string
		for _, row := range v.Rows {
			for _, e := range row.Latest {
				ids = append(ids, e.Metadata.ID)
			}
		}
		html, err := d.fragment("projects", "live", v)
		return html, ids, err
	})
}

// projectLive follows a project page's list of events.
func (d *Dashboard) projectLive(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := r.PathValue("id")
	d.followList(w, r, func() (string, []string, error) {
		v, err := d.project(r, p, id)
		if err != nil {
			return "", nil, err
		}
		var ids []string
		for _, e := range v.Events {
			ids = append(ids, e.Metadata.ID)
		}
		html, err := d.fragment("project", "live", v)
		return html, ids, err
	})
}

// followList follows a list of events: a change to the queue (an event
// or job created, a task taken) or to any listed event's worker renders it
// again. The set of events followed is renewed with each render.
func (d *Dashboard) followList(w http.ResponseWriter, r *http.Request, render func() (string, []string, error)) {
	ctx, stop := context.WithCancel(r.Context())
	defer stop()
	changes := make(chan struct{}, 1)
	m := &merger{out: changes}
	defer m.close()
	m.add(d.svc.QueueChanges())
	followed := map[string]bool{}
	follow(ctx, w, changes, nil, func() (string, bool, error) {
		html, ids, err := render()
		for _, id := range ids {
			if !followed[id] {
				followed[id] = true
				m.add(d.svc.WorkerChanges(id))
			}
		}
		return html, false, err
	})
}

// merger forwards any of several subscriptions to one coalescing channel.
type merger struct {
	out     chan struct{}
	wg      sync.WaitGroup
	cancels []func()
	stops   []chan struct{}
}

func (m *merger) add(ch <-chan struct{}, cancel func()) {
	stop := make(chan struct{})
	m.cancels, m.stops = append(m.cancels, cancel), append(m.stops, stop)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			select {
			case <-ch:
				select {
				case m.out <- struct{}{}:
				default:
				}
			case <-stop:
				return
			}
		}
	}()
}

func (m *merger) close() {
	for i := range m.stops {
		close(m.stops[i])
		m.cancels[i]()
	}
	m.wg.Wait()
}
