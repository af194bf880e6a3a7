package api

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/redact"
)

// Every log line a workload writes is stored (and so streamed) with the
// values of its project's secrets masked (docs/security.md, "Redaction").
// RedactLogs is the one place that does it, called before lines enter the
// log store: by the server's substrate sink (worker, job and sidecar
// output on every substrate) and by AppendWorkerLog (the vcs stream).

// redactors caches a Redactor per project, and the project of each event
// whose lines it has seen. Any change of any secret drops every cached
// Redactor (secrets change rarely; lines flow all the time).
type redactors struct {
	mu       sync.Mutex
	gen      uint64 // bumped by every secret change
	projects map[string]projectRedactor
	events   map[string]string // event id → project id
}

type projectRedactor struct {
	r   *redact.Redactor // nil: nothing to mask
	gen uint64
}

// cacheLimit bounds both maps; a full one starts over.
const redactCacheLimit = 4096

// secretsChanged invalidates every cached Redactor.
func (c *redactors) secretsChanged() {
	c.mu.Lock()
	c.gen++
	c.projects = nil
	c.mu.Unlock()
}

// knowEvent records the project of an event (which never changes), so
// that its lines need no read of the event: StartWorker, which reads the
// event anyway, tells it before the worker writes a line.
func (c *redactors) knowEvent(eventID, projectID string) {
	c.mu.Lock()
	if c.events == nil || len(c.events) >= redactCacheLimit {
		c.events = map[string]string{}
	}
	c.events[eventID] = projectID
	c.mu.Unlock()
}

// RedactLogs returns entries with the secrets of the event's project
// masked. The slice is entries itself when nothing changed, else a copy:
// the caller's lines are not modified. A line is redacted on its own, so a
// value split across two lines is masked only if each line holds a whole
// line of the value (a multi-line secret) or a whole base64 form.
func (s *Service) RedactLogs(ctx context.Context, eventID string, entries []core.LogEntry) ([]core.LogEntry, error) {
	if len(entries) == 0 {
		return entries, nil
	}
	r, err := s.logRedactor(ctx, eventID)
	if err != nil || r == nil {
		return entries, err
	}
	out, copied := entries, false
	for i := range entries {
		m, changed := r.String(entries[i].Message)
		if !changed {
			continue
		}
		if !copied {
			out, copied = slices.Clone(entries), true
		}
		out[i].Message = m
	}
	return out, nil
}

// logRedactor is the Redactor of the event's project; nil when it has no
// secret worth masking, or the event or project is gone (the store then
// refuses the lines anyway).
func (s *Service) logRedactor(ctx context.Context, eventID string) (*redact.Redactor, error) {
	c := &s.redact
	c.mu.Lock()
	projectID, known := c.events[eventID]
	c.mu.Unlock()
	if !known {
		ev, err := s.store.Events().Head(ctx, eventID)
		if core.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		projectID = ev.ProjectID
		c.knowEvent(eventID, projectID)
	}
	c.mu.Lock()
	cached, ok := c.projects[projectID]
	gen := c.gen
	c.mu.Unlock()
	if ok && cached.gen == gen {
		return cached.r, nil
	}
	secrets, err := s.projectSecrets(ctx, projectID)
	if core.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r := redact.New(slices.Collect(maps.Values(secrets)))
	c.mu.Lock()
	if c.gen == gen { // no secret changed while they were read
		if c.projects == nil || len(c.projects) >= redactCacheLimit {
			c.projects = map[string]projectRedactor{}
		}
		c.projects[projectID] = projectRedactor{r: r, gen: gen}
	}
	c.mu.Unlock()
	return r, nil
}
