package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
)

// job returns the job a ref names: one this substrate follows, or one it
// re-attaches to from its containers' labels. Nil when there is none.
func (s *Substrate) job(ctx context.Context, ref core.WorkloadRef) (*job, error) {
	for {
		s.mu.Lock()
		if j := s.jobs[ref]; j != nil {
			s.mu.Unlock()
			return j, nil
		}
		if s.isClosed() {
			s.mu.Unlock()
			return nil, nil
		}
		if s.cleaning[ref.EventID] > 0 {
			// Cleanup re-attaches the event's jobs itself: wait for that.
			ready := s.cleanReady[ref.EventID]
			s.mu.Unlock()
			select {
			case <-ready:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			s.mu.Lock()
			j := s.jobs[ref]
			s.mu.Unlock()
			return j, nil
		}
		if ch := s.adopting[ref]; ch != nil { // someone else looks it up
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		s.adopting[ref] = ch
		s.mu.Unlock()
		j, err := s.adopt(ctx, ref)
		s.mu.Lock()
		delete(s.adopting, ref)
		close(ch)
		var late *job // adopted too late: the substrate closed meanwhile
		if j != nil {
			// A Cleanup that began meanwhile waits for this adoption and then
			// stops the job with the others.
			if s.isClosed() {
				late, j = j, nil
			} else {
				s.follow(j)
			}
		}
		s.mu.Unlock()
		if late != nil {
			_ = s.abandonAdoption(late, nil)
		}
		return j, err
	}
}

// adopt builds a job from the containers a previous server started. Its
// logs resume where the log store's copy ends (Options.Resume).
func (s *Substrate) adopt(ctx context.Context, ref core.WorkloadRef) (*job, error) {
	found, err := s.containers(ctx, refLabels(ref)...)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	var primary *dockerapi.ContainerSummary
	var sidecars []*dockerapi.ContainerSummary
	for i := range found {
		switch c := &found[i]; {
		case (c.Labels[LabelRole] == RolePrimary || c.Labels[LabelRole] == RoleWorker) && primary == nil:
			primary = c
		case c.Labels[LabelRole] == RoleSidecar && c.Labels[LabelContainer] != "":
			sidecars = append(sidecars, c)
		}
	}
	slices.SortFunc(sidecars, func(a, b *dockerapi.ContainerSummary) int {
		return strings.Compare(a.Labels[LabelContainer], b.Labels[LabelContainer])
	})
	names := []string{primaryName(ref)}
	for _, c := range sidecars {
		names = append(names, c.Labels[LabelContainer])
	}
	j := newJob(s, ref, names)
	if primary == nil {
		j.failure = "the primary container was removed while the server was not running"
	} else if in, err := s.cli.ContainerInspect(ctx, primary.ID); err == nil && in.State != nil {
		if t, perr := time.Parse(time.RFC3339Nano, in.State.StartedAt); perr == nil && t.Year() > 1 {
			j.started = t.UTC()
		}
	}
	for i, c := range j.ctrs {
		sum := primary
		if i > 0 {
			sum = sidecars[i-1]
		}
		if sum == nil {
			continue
		}
		c.id, c.started = sum.ID, sum.State != dockerapi.StateCreated
		if c.started && s.opts.Resume != nil {
			if c.from, err = s.opts.Resume(ctx, c.logs.Stream()); err != nil {
				return nil, s.abandonAdoption(j, fmt.Errorf("docker substrate: finding where %s ends in the log store: %w",
					fmtStream(c.logs.Stream()), err))
			}
		}
	}
	return j, nil
}

// follow registers an adopted job and follows it. Call it with s.mu held.
func (s *Substrate) follow(j *job) {
	for _, c := range j.ctrs {
		if c.started {
			c.logs.Note(notePrefix + "the server restarted: following this container again")
		}
	}
	s.log.Info("docker substrate: re-attached to a job's containers", "workload", j.ref.String(), "containers", len(j.ctrs))
	s.jobs[j.ref] = j
	s.wg.Add(1)
	go j.run(s.ctx)
}

func (s *Substrate) abandonAdoption(j *job, err error) error {
	for _, c := range j.ctrs {
		c.logs.End(false)
	}
	return err
}

// adoptEvent re-attaches every job and worker of an event whose containers
// exist but that this substrate does not follow.
func (s *Substrate) adoptEvent(ctx context.Context, eventID string) error {
	found, err := s.containers(ctx, LabelEvent+"="+eventID)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range found {
		ref, ok := workloadOf(c.Labels)
		if !ok || ref.EventID != eventID {
			continue
		}
		s.mu.Lock()
		known := s.jobs[ref] != nil
		s.mu.Unlock()
		if known {
			continue
		}
		j, err := s.adopt(ctx, ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if j == nil {
			continue
		}
		s.mu.Lock()
		if s.jobs[ref] != nil || s.isClosed() {
			s.mu.Unlock()
			_ = s.abandonAdoption(j, nil)
			continue
		}
		s.follow(j)
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}
