package api

import (
	"slices"
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
)

// eventFacts is what launching a job takes from its event. None of it
// changes once the event exists (the worker's spec is fixed at creation),
// so StartJob reads the whole event once per event, not once per job: a
// job then costs a read of its worker's phase (a column) instead.
type eventFacts struct {
	projectID        string
	useWorkspace     bool
	allowPrivileged  bool
	imagePullSecrets []string
}

func factsOf(ev *core.Event) eventFacts {
	f := eventFacts{projectID: ev.ProjectID}
	if ev.Worker != nil {
		spec := &ev.Worker.Spec
		f.useWorkspace = spec.UseWorkspace
		f.allowPrivileged = spec.JobPolicies != nil && spec.JobPolicies.AllowPrivileged
		f.imagePullSecrets = imagePullSecrets(spec)
	}
	return f
}

// eventFactsLimit bounds the cache; past it, it starts again empty.
const eventFactsLimit = 1024

// eventFactsCache holds the facts of recently launched events' jobs.
// Event ids are never reused, so an entry cannot go stale; one whose event
// was deleted is never asked for again, since its jobs went with it.
type eventFactsCache struct {
	mu sync.Mutex
	m  map[string]eventFacts
}

func (c *eventFactsCache) get(eventID string) (eventFacts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.m[eventID]
	return f, ok
}

func (c *eventFactsCache) put(eventID string, f eventFacts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= eventFactsLimit {
		c.m = make(map[string]eventFacts)
	}
	c.m[eventID] = f
}

// launch fills a JobLaunch's event-wide fields.
func (f eventFacts) launch(l *core.JobLaunch) {
	l.ProjectID = f.projectID
	l.UseWorkspace = f.useWorkspace
	l.AllowPrivileged = f.allowPrivileged
	l.ImagePullSecrets = slices.Clone(f.imagePullSecrets)
}
