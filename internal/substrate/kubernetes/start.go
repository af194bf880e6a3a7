package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/brigadeplatform/brigade/internal/core"
)

// ensureProject creates the project's namespace (labelled as ours) once,
// and stores its secrets as a Secret in it.
func (s *Substrate) ensureProject(ctx context.Context, projectID string, secrets map[string]string) error {
	ns := s.opts.Pods.Namespace(projectID)
	s.mu.Lock()
	known := s.nsReady[ns]
	s.mu.Unlock()
	if !known {
		err := s.cs.create(ctx, "", resNamespaces, NamespaceObject(s.opts.Pods, projectID))
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("kubernetes substrate: creating namespace %s for project %s: %w "+
				"(the server's account needs create on namespaces)", ns, projectID, err)
		}
		s.mu.Lock()
		s.nsReady[ns] = true
		s.mu.Unlock()
	}
	if secrets == nil {
		return nil
	}
	want := ProjectSecretsObject(s.opts.Pods, projectID, secrets)
	return s.apply(ctx, want)
}

// apply creates a Secret, or replaces the one of that name.
func (s *Substrate) apply(ctx context.Context, sec *corev1.Secret) error {
	err := s.cs.create(ctx, sec.Namespace, resSecrets, sec)
	if apierrors.IsAlreadyExists(err) {
		err = s.cs.update(ctx, sec.Namespace, resSecrets, sec.Name, sec)
	}
	if err != nil {
		return fmt.Errorf("kubernetes substrate: writing secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	return nil
}

// StartWorker prepares the event on the cluster (namespace, project
// secrets, the event's Secret for git-init, the workspace claim) and
// starts the worker: as a host process when Options.Workers is set, else
// as a pod.
func (s *Substrate) StartWorker(ctx context.Context, wl *core.WorkerLaunch) (time.Time, error) {
	ev := wl.Event
	if ev == nil {
		return time.Time{}, fmt.Errorf("kubernetes substrate: the worker launch has no event")
	}
	if ev.Worker == nil {
		c := *ev
		c.Worker = &core.Worker{}
		ev = &c
		w := *wl
		w.Event = ev
		wl = &w
	}
	var doc core.EventDocument
	if err := json.Unmarshal(wl.EventDocument, &doc); err != nil {
		return time.Time{}, fmt.Errorf("kubernetes substrate: reading the event document of %s: %w", ev.Metadata.ID, err)
	}
	var secrets map[string]string
	if !doc.Worker.SecretsFromAPI {
		secrets = doc.Project.Secrets
		if secrets == nil {
			secrets = map[string]string{}
		}
	}
	if err := s.ensureProject(ctx, ev.ProjectID, secrets); err != nil {
		return time.Time{}, err
	}
	if err := s.apply(ctx, EventSecretObject(s.opts.Pods, ev.ProjectID, ev.Metadata.ID, wl.EventDocument)); err != nil {
		return time.Time{}, err
	}
	if ev.Worker.Spec.UseWorkspace {
		if err := s.ensureWorkspace(ctx, ev.ProjectID, ev.Metadata.ID, ev.Worker.Spec.WorkspaceSize); err != nil {
			return time.Time{}, err
		}
	}
	if s.workers != nil {
		return s.workers.StartWorker(ctx, wl)
	}
	pod := WorkerPod(s.opts.Pods, wl)
	ref := core.WorkloadRef{EventID: ev.Metadata.ID}
	return s.startPod(ctx, ref, pod, []string{WorkerContainer}, nil, "")
}

// ensureWorkspace creates the event's workspace claim unless it exists.
func (s *Substrate) ensureWorkspace(ctx context.Context, projectID, eventID, size string) error {
	pvc, err := WorkspaceClaimObject(s.opts.Pods, projectID, eventID, size)
	if err != nil {
		return &core.BadRequestError{Reason: err.Error()}
	}
	err = s.cs.create(ctx, pvc.Namespace, resClaims, pvc)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kubernetes substrate: creating the workspace claim of event %s: %w", eventID, err)
	}
	return nil
}

// StartJob starts a job's pod. A job that cannot run as specified starts
// and fails at once, with the reason in its log.
func (s *Substrate) StartJob(ctx context.Context, jl *core.JobLaunch) (time.Time, error) {
	if jl.Job == nil {
		return time.Time{}, fmt.Errorf("kubernetes substrate: the job launch has no job")
	}
	ref := core.WorkloadRef{EventID: jl.EventID, Job: jl.Job.Name}
	containers := append([]string{jl.Job.Name}, slices.Sorted(maps.Keys(jl.Job.Spec.SidecarContainers))...)
	if err := s.ensureProject(ctx, jl.ProjectID, nil); err != nil {
		return time.Time{}, err
	}
	plan, reason := JobPod(s.opts.Pods, jl, jl.ImagePullSecrets)
	if reason != "" {
		return s.startPod(ctx, ref, nil, containers, nil, reason)
	}
	if mountsWorkspace(plan.Pod) {
		// The worker's start created the claim; a job started without it
		// (a worker of another substrate, a claim deleted meanwhile)
		// would otherwise wait forever for a claim that never comes.
		if err := s.ensureWorkspace(ctx, jl.ProjectID, jl.EventID, ""); err != nil {
			return time.Time{}, err
		}
	}
	return s.startPod(ctx, ref, plan.Pod, containers, plan.Env, "")
}

// startPod registers the workload, creates its Secret and pod, and waits
// until the pod runs. With a reason instead of a pod, the workload fails
// at once.
func (s *Substrate) startPod(ctx context.Context, ref core.WorkloadRef, pod *corev1.Pod, containers []string,
	env *corev1.Secret, reason string) (time.Time, error) {
	ns, name := "", ""
	if pod != nil {
		ns, name = pod.Namespace, pod.Name
	}
	if err := s.waitSynced(ctx); err != nil {
		return time.Time{}, err
	}
	w := newWorkload(s, ref, ns, name, containers)
	s.mu.Lock()
	if old := s.loads[ref]; old != nil {
		// Started already (a retry after a start that timed out): the
		// same workload, once it runs.
		s.mu.Unlock()
		w.discard()
		select {
		case <-old.running:
			return now(), nil
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("kubernetes substrate: waiting for the pod of %s to run: %w", ref, ctx.Err())
		}
	}
	s.loads[ref] = w
	s.mu.Unlock()
	started := now()
	if reason != "" {
		w.failNow(reason)
		return started, nil
	}
	undo := func(err error) (time.Time, error) {
		s.mu.Lock()
		delete(s.loads, ref)
		s.mu.Unlock()
		w.discard()
		return time.Time{}, err
	}
	if env != nil {
		if err := s.apply(ctx, env); err != nil {
			return undo(err)
		}
	}
	if err := s.cs.create(ctx, ns, resPods, pod); err != nil && !apierrors.IsAlreadyExists(err) {
		// (AlreadyExists: the pod of an earlier attempt, which this
		// workload follows.)
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			// The cluster refuses this pod as specified (admission, quota,
			// validation): the workload fails with the reason in its log.
			w.failNow(fmt.Sprintf("the cluster refused the pod of %s: %v", ref, err))
			return started, nil
		}
		return undo(fmt.Errorf("kubernetes substrate: creating the pod of %s: %w", ref, err))
	}
	w.primary().Note(fmt.Sprintf("%skubernetes substrate: pod %s/%s", notePrefix, ns, name))
	s.wg.Add(1)
	go s.run(w)
	select {
	case <-w.running:
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("kubernetes substrate: waiting for the pod of %s to run: %w", ref, ctx.Err())
	}
	return now(), nil
}

// mountsWorkspace reports whether a pod mounts its event's workspace claim.
func mountsWorkspace(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			return true
		}
	}
	return false
}
