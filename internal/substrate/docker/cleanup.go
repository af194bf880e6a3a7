package docker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/dockerapi"
)

// Cleanup implements core.Substrate: it stops the event's jobs (SIGTERM,
// SIGKILL after SidecarGrace) and waits until their logs are complete,
// removes every container of the event (also those a previous server
// left), then has the workers' substrate stop the worker and remove the
// event folder.
func (s *Substrate) Cleanup(ctx context.Context, eventID string) error {
	if err := checkName("event id", eventID); err != nil {
		return err
	}
	s.mu.Lock()
	s.cleaning[eventID]++ // StartJob and re-attaching refuse the event meanwhile
	ready := s.cleanReady[eventID]
	mine := ready == nil
	if mine {
		ready = make(chan struct{})
		s.cleanReady[eventID] = ready
	}
	var adopting []chan struct{}
	for r, ch := range s.adopting {
		if r.EventID == eventID {
			adopting = append(adopting, ch)
		}
	}
	s.mu.Unlock()
	markReady := sync.OnceFunc(func() {
		if mine {
			close(ready)
		}
	})
	defer func() {
		markReady()
		s.mu.Lock()
		if s.cleaning[eventID]--; s.cleaning[eventID] == 0 {
			delete(s.cleaning, eventID)
			delete(s.cleanReady, eventID)
		}
		s.mu.Unlock()
	}()
	for _, ch := range adopting { // re-attaching that began before
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cleaning up event %s: waiting for its jobs to be re-attached: %w", eventID, ctx.Err())
		}
	}
	// Jobs a previous server started are re-attached first, so that they
	// too end with complete, closed logs.
	if err := s.adoptEvent(ctx, eventID); err != nil {
		s.log.Warn("docker substrate: re-attaching an event's jobs before cleaning it up", "event", eventID, "err", err)
	}
	markReady()
	var js []*job
	s.mu.Lock()
	for r, j := range s.jobs {
		if r.EventID == eventID {
			js = append(js, j)
		}
	}
	s.mu.Unlock()
	for _, j := range js {
		j.stop(s.opts.SidecarGrace)
	}
	for _, j := range js {
		if j.isDone() {
			continue
		}
		select {
		case <-j.done:
		case <-ctx.Done():
			return fmt.Errorf("cleaning up event %s: waiting for its jobs to end: %w", eventID, ctx.Err())
		case <-s.closed:
			return fmt.Errorf("cleaning up event %s: the docker substrate was closed", eventID)
		}
	}
	if err := s.removeContainers(ctx, eventID); err != nil {
		return err
	}
	s.mu.Lock()
	for _, j := range js {
		if s.jobs[j.ref] == j {
			delete(s.jobs, j.ref)
		}
	}
	s.mu.Unlock()
	return s.workers.Cleanup(ctx, eventID)
}

// removeContainers removes every container of an event and returns once
// they are gone; running ones get SidecarGrace after SIGTERM. A removal
// that races another (a second Cleanup of the event) is not an error: see
// RemoveContainer.
func (s *Substrate) removeContainers(ctx context.Context, eventID string) error {
	found, err := s.containers(ctx, LabelEvent+"="+eventID)
	if err != nil {
		return fmt.Errorf("cleaning up event %s: %w", eventID, err)
	}
	grace := int((s.opts.SidecarGrace + time.Second - 1) / time.Second)
	var errs []error
	for _, c := range found {
		if c.State == dockerapi.StateRunning {
			_ = s.cli.ContainerStop(ctx, c.ID, &grace)
		}
		if err := RemoveContainer(ctx, s.cli, c.ID, dockerapi.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("removing container %s: %w (remove it with `docker rm -f %s`)", c.ID, err, c.ID))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleaning up event %s: %w", eventID, errors.Join(errs...))
	}
	return nil
}
