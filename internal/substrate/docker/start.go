package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// StartJob implements core.Substrate. It pulls the images the job needs
// (per imagePullPolicy), creates its containers and starts them, primary
// first. A job that cannot run as specified (an image that cannot be
// pulled, a forbidden privileged container, a bad mount path or resource
// quantity, a command docker cannot start) still starts: Wait reports it
// FAILED at once and its log says why. Errors are for the substrate's own
// trouble (the daemon is not reachable).
func (s *Substrate) StartJob(ctx context.Context, jl *core.JobLaunch) (time.Time, error) {
	if jl == nil || jl.Job == nil {
		return time.Time{}, errors.New("docker substrate: StartJob needs a launch that carries its job")
	}
	if err := checkName("event id", jl.EventID); err != nil {
		return time.Time{}, err
	}
	if err := checkName("job name", jl.Job.Name); err != nil {
		return time.Time{}, err
	}
	ref := core.WorkloadRef{EventID: jl.EventID, Job: jl.Job.Name}
	names := append([]string{jl.Job.Name}, slices.Sorted(maps.Keys(jl.Job.Spec.SidecarContainers))...)
	return s.start(ctx, ref, names, func(j *job) error { return s.launch(ctx, jl, j) })
}

// start registers the workload's containers (names[0] is the primary),
// has launch create and start them, and follows them. A launch error is
// the substrate's trouble: the workload is forgotten again.
func (s *Substrate) start(ctx context.Context, ref core.WorkloadRef, names []string, launch func(*job) error) (time.Time, error) {
	j := newJob(s, ref, names)
	if err := s.register(j); err != nil {
		j.discard()
		return time.Time{}, err
	}
	if err := s.removeStale(ctx, ref); err != nil {
		s.unregister(j)
		return time.Time{}, err
	}
	if err := launch(j); err != nil {
		s.unregister(j)
		return time.Time{}, err
	}
	// A Stop (or Cleanup) may have come while the containers started.
	j.mu.Lock()
	stopped, late := j.stopped, !j.killAt.IsZero() && time.Now().After(j.killAt)
	j.mu.Unlock()
	switch {
	case late:
		j.signal("KILL")
	case stopped:
		j.signal("TERM")
	}
	s.log.Debug("docker substrate: workload started", "workload", ref.String(), "failure", j.failure)
	s.wg.Add(1)
	go j.run(s.ctx)
	return j.started, nil
}

// register makes the job known, unless the event is being cleaned up or
// the job already runs.
func (s *Substrate) register(j *job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var conflict string
	switch old := s.jobs[j.ref]; {
	case s.isClosed():
		return fmt.Errorf("docker substrate: cannot start the %s: the substrate is closed (the server is stopping)", j.ref)
	case s.cleaning[j.ref.EventID] > 0:
		conflict = fmt.Sprintf("event %s is being cleaned up; its jobs cannot start", j.ref.EventID)
	case old != nil && !old.isDone(), s.adopting[j.ref] != nil:
		conflict = fmt.Sprintf("the %s is already running", j.ref)
	}
	if conflict != "" {
		return &core.ConflictError{Type: "Workload", ID: j.ref.String(), Reason: "docker substrate: " + conflict}
	}
	s.jobs[j.ref] = j
	return nil
}

// unregister forgets a job that did not start; its streams stay open, so
// a retried start can write to them.
func (s *Substrate) unregister(j *job) {
	s.mu.Lock()
	if s.jobs[j.ref] == j {
		delete(s.jobs, j.ref)
	}
	s.mu.Unlock()
	j.discard()
}

// discard ends the pumps of a job that never ran, leaving the streams open.
func (j *job) discard() {
	for _, c := range j.ctrs {
		c.logs.End(false)
	}
}

// removeStale removes containers an earlier attempt of the same job left
// (a start that failed half-way); it refuses when they still run.
func (s *Substrate) removeStale(ctx context.Context, ref core.WorkloadRef) error {
	found, err := s.containers(ctx, refLabels(ref)...)
	if err != nil {
		return err
	}
	for _, c := range found {
		if c.State == dockerapi.StateRunning {
			return &core.ConflictError{Type: "Workload", ID: ref.String(), Reason: fmt.Sprintf(
				"docker substrate: container %s of the %s still runs (started before a restart): it is re-attached, not started again",
				c.ID, ref)}
		}
		if err := RemoveContainer(ctx, s.cli, c.ID, dockerapi.RemoveOptions{Force: true}); err != nil {
			return fmt.Errorf("docker substrate: removing container %s, left by an earlier start of the %s: %w", c.ID, ref, err)
		}
	}
	return nil
}

// trouble tells the substrate's own trouble (the daemon cannot be reached,
// the caller gave up) from a job that cannot run.
func trouble(ctx context.Context, err error) bool {
	return dockerapi.IsConnectionFailed(err) || ctx.Err() != nil ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// launch prepares and starts the job's containers. A returned error is the
// substrate's trouble (created containers are removed again); a job that
// cannot run gets j.failure, with the reason in the primary's log.
func (s *Substrate) launch(ctx context.Context, jl *core.JobLaunch, j *job) error {
	fail := j.fail
	if note := ignoredNote(jl.Job); note != "" {
		j.ctrs[0].logs.Note(note)
	}
	dirs, err := s.eventDirs(jl.EventID)
	if err != nil {
		return err
	}
	var plans []*ctrPlan
	for i, c := range j.ctrs {
		spec := jl.Job.Spec.PrimaryContainer
		if i > 0 {
			spec = jl.Job.Spec.SidecarContainers[c.name]
		}
		p, reason := planContainer(jl, c.name, spec, i == 0, dirs, s.dataDir, s.opts.Network)
		if reason != "" {
			return fail(reason)
		}
		plans = append(plans, p)
	}
	if jl.UseWorkspace {
		// Containers may run as any user; the data dir itself is private.
		_ = os.Chmod(dirs.workspace, 0o777)
	}
	ready := map[string]bool{}
	for i, p := range plans {
		if ready[p.image] {
			continue
		}
		reason, err := s.ensureImage(ctx, p, j.ctrs[i].logs)
		if err != nil {
			return err
		}
		if reason != "" {
			return fail(reason)
		}
		ready[p.image] = true
	}
	created, err := s.createAll(ctx, jl, j, plans)
	if err != nil || j.failure != "" {
		return s.undo(err, created)
	}
	for i, c := range j.ctrs {
		if j.isStopped() {
			break // ends ABORTED without starting the rest
		}
		reason, err := s.startOne(ctx, jl, j, plans, i)
		if err != nil {
			return s.undo(err, created)
		}
		if reason != "" {
			for _, o := range j.ctrs[:i] {
				s.kill(o.id, "KILL")
			}
			return fail(reason)
		}
		j.mu.Lock()
		c.started = true
		if i == 0 {
			j.started = time.Now().UTC()
		}
		j.mu.Unlock()
	}
	return nil
}

// fail records why the job cannot run, and says so in its primary's log.
// It returns nil: that is no trouble of the substrate's.
func (j *job) fail(reason string) error {
	j.mu.Lock()
	j.failure = reason
	j.mu.Unlock()
	j.ctrs[0].logs.Note(notePrefix + reason)
	return nil
}

// undo removes what a start that hit the substrate's trouble created.
func (s *Substrate) undo(err error, ids []string) error {
	if err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range ids {
		_ = RemoveContainer(ctx, s.cli, id, dockerapi.RemoveOptions{Force: true})
	}
	return err
}

// eventDirs creates the event's workspace and source folders (the worker
// usually has) and returns them.
func (s *Substrate) eventDirs(eventID string) (eventDirs, error) {
	dir := filepath.Join(s.eventsDir, eventID)
	d := eventDirs{workspace: filepath.Join(dir, "workspace"), source: filepath.Join(dir, "source")}
	for _, p := range []string{d.workspace, d.source} {
		if err := os.MkdirAll(p, 0o750); err != nil {
			return d, fmt.Errorf("docker substrate: creating the folders of event %s: %w (check that %s is writable)",
				eventID, err, s.eventsDir)
		}
	}
	return d, nil
}

// ensureImage makes the image available per its pull policy. It returns a
// reason when the job cannot run, an error for the substrate's trouble.
func (s *Substrate) ensureImage(ctx context.Context, p *ctrPlan, logs *logpump.Pump) (string, error) {
	if p.pull != "Always" {
		_, err := s.cli.ImageInspect(ctx, p.image)
		if err == nil {
			return "", nil
		}
		if trouble(ctx, err) {
			return "", fmt.Errorf("docker substrate: looking up image %q: %w", p.image, err)
		}
		if !dockerapi.IsNotFound(err) {
			return fmt.Sprintf("cannot look up image %q for container %s: %v", p.image, p.name, err), nil
		}
		if p.pull == "Never" {
			return fmt.Sprintf("image %q of container %s is not on the Docker daemon and its imagePullPolicy is Never: "+
				"pull or build it there first, or use imagePullPolicy IfNotPresent", p.image, p.name), nil
		}
	}
	logs.Note(fmt.Sprintf("%spulling image %q (imagePullPolicy %s)", notePrefix, p.image, p.pull))
	if err := s.cli.ImagePull(ctx, p.image); err != nil {
		if trouble(ctx, err) {
			return "", fmt.Errorf("docker substrate: pulling image %q: %w", p.image, err)
		}
		return fmt.Sprintf("cannot pull image %q: %v; check the image's name and that the daemon can reach its registry "+
			"(with imagePullPolicy IfNotPresent, an image already on the daemon is used without pulling)", p.image, err), nil
	}
	logs.Note(fmt.Sprintf("%spulled image %q", notePrefix, p.image))
	return "", nil
}

func containerName(jl *core.JobLaunch, name string) string {
	return "brigade_" + jl.EventID + "_" + jl.Job.Name + "_" + name
}

// createAll creates the primary, then the sidecars in its network
// namespace. It returns the ids created so far.
func (s *Substrate) createAll(ctx context.Context, jl *core.JobLaunch, j *job, plans []*ctrPlan) ([]string, error) {
	var ids []string
	for i, p := range plans {
		if i > 0 {
			p.host.NetworkMode = "container:" + j.ctrs[0].id
		}
		res, err := s.cli.ContainerCreate(ctx, containerName(jl, p.name), p.config, p.host)
		if err != nil {
			if trouble(ctx, err) {
				return ids, fmt.Errorf("docker substrate: creating container %s of the %s: %w", p.name, j.ref, err)
			}
			return ids, j.fail(fmt.Sprintf("cannot create container %s: %v", p.name, err))
		}
		for _, w := range res.Warnings {
			j.ctrs[i].logs.Note(notePrefix + "docker: " + w)
		}
		ids = append(ids, res.ID)
		j.mu.Lock()
		j.ctrs[i].id = res.ID
		j.mu.Unlock()
	}
	return ids, nil
}

// startOne starts container i. A sidecar whose primary already ended has
// no network namespace to join: it is created again on its own network,
// so that it still runs.
func (s *Substrate) startOne(ctx context.Context, jl *core.JobLaunch, j *job, plans []*ctrPlan, i int) (string, error) {
	c := j.ctrs[i]
	err := s.cli.ContainerStart(ctx, c.id)
	if err == nil {
		return "", nil
	}
	if trouble(ctx, err) {
		return "", fmt.Errorf("docker substrate: starting container %s of the %s: %w", c.name, j.ref, err)
	}
	if i > 0 {
		in, ierr := s.cli.ContainerInspect(ctx, j.ctrs[0].id)
		if ierr == nil && in.State != nil && !in.State.Running {
			p := plans[i]
			_ = RemoveContainer(ctx, s.cli, c.id, dockerapi.RemoveOptions{Force: true}) // gone before its name is reused
			p.host.NetworkMode = s.opts.Network
			res, cerr := s.cli.ContainerCreate(ctx, containerName(jl, p.name), p.config, p.host)
			if cerr == nil {
				j.mu.Lock()
				c.id = res.ID
				j.mu.Unlock()
				c.logs.Note(fmt.Sprintf("%ssidecar %s runs on its own network: the primary container ended before it started", notePrefix, c.name))
				if err = s.cli.ContainerStart(ctx, c.id); err == nil {
					return "", nil
				}
			} else {
				err = cerr
			}
			if trouble(ctx, err) {
				return "", fmt.Errorf("docker substrate: starting container %s of the %s: %w", c.name, j.ref, err)
			}
		}
	}
	return fmt.Sprintf("cannot start container %s: %v", c.name, err), nil
}
