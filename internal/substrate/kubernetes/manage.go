package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/brigadeplatform/brigade/internal/core"
)

// hostWorker reports whether a worker ref belongs to Options.Workers.
func (s *Substrate) hostWorker(ref core.WorkloadRef) bool {
	return ref.IsWorker() && s.workers != nil
}

// workload returns the followed workload of ref, re-attaching to its pod
// (found through the watch) after a restart; nil when there is none.
func (s *Substrate) workload(ctx context.Context, ref core.WorkloadRef) (*workload, error) {
	s.mu.Lock()
	w := s.loads[ref]
	s.mu.Unlock()
	if w != nil {
		return w, nil
	}
	if err := s.waitSynced(ctx); err != nil {
		return nil, err
	}
	pod := s.findPod(ref)
	if pod == nil {
		return nil, nil
	}
	containers := []string{}
	for _, c := range pod.Spec.Containers {
		containers = append(containers, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			containers = append(containers, c.Name)
		}
	}
	w = newWorkload(s, ref, pod.Namespace, pod.Name, containers)
	s.mu.Lock()
	if old := s.loads[ref]; old != nil {
		s.mu.Unlock()
		w.discard()
		return old, nil
	}
	s.loads[ref] = w
	s.mu.Unlock()
	w.primary().Note(notePrefix + "kubernetes substrate: re-attached to pod " + pod.Namespace + "/" + pod.Name)
	s.wg.Add(1)
	go s.run(w)
	return w, nil
}

// findPod looks ref's pod up in the watch's cache.
func (s *Substrate) findPod(ref core.WorkloadRef) *corev1.Pod {
	set := labels.Set{LabelEvent: labelValue(ref.EventID)}
	if ref.IsWorker() {
		set[LabelRole] = RoleWorker
	} else {
		set[LabelRole], set[LabelJob] = RoleJob, labelValue(ref.Job)
	}
	pods, err := s.pods.List(labels.SelectorFromSet(set))
	if err != nil || len(pods) == 0 {
		return nil
	}
	return pods[0]
}

// Wait implements core.Substrate.
func (s *Substrate) Wait(ctx context.Context, ref core.WorkloadRef) (core.ExitStatus, error) {
	if s.hostWorker(ref) {
		return s.workers.Wait(ctx, ref)
	}
	w, err := s.workload(ctx, ref)
	if err != nil {
		return core.ExitStatus{}, err
	}
	if w == nil {
		return core.ExitStatus{}, &core.NotFoundError{Type: "Workload", ID: ref.String()}
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return core.ExitStatus{}, ctx.Err()
	case <-s.ctx.Done():
		return core.ExitStatus{}, errors.New("kubernetes substrate: closed while waiting for " + ref.String())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status, nil
}

// Stop deletes the workload's pod with grace as its termination grace
// period: Kubernetes sends SIGTERM, then SIGKILL after it.
func (s *Substrate) Stop(ctx context.Context, ref core.WorkloadRef, grace time.Duration) error {
	if s.hostWorker(ref) {
		return s.workers.Stop(ctx, ref, grace)
	}
	w, err := s.workload(ctx, ref)
	if err != nil || w == nil {
		return err
	}
	select {
	case <-w.done:
		return nil
	default:
	}
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	if err := s.deletePod(ctx, w, grace); err != nil {
		return fmt.Errorf("kubernetes substrate: deleting the pod of %s: %w", ref, err)
	}
	w.wake()
	return nil
}

// deletePod deletes a workload's pod, its containers getting grace
// (rounded to whole seconds) between SIGTERM and SIGKILL. A pod already
// gone is no error.
func (s *Substrate) deletePod(ctx context.Context, w *workload, grace time.Duration) error {
	secs := int64(grace.Round(time.Second) / time.Second)
	err := s.cs.delete(ctx, w.ns, resPods, w.pod, metav1.DeleteOptions{GracePeriodSeconds: &secs})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// List returns every workload whose pod the watch sees, the ones that
// failed before they had a pod, and Options.Workers' workers.
func (s *Substrate) List(ctx context.Context) ([]core.WorkloadRef, error) {
	if err := s.waitSynced(ctx); err != nil {
		return nil, err
	}
	set := map[core.WorkloadRef]bool{}
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("kubernetes substrate: listing pods: %w", err)
	}
	for _, p := range pods {
		if ref, ok := refOf(p.Labels); ok {
			set[ref] = true
		}
	}
	s.mu.Lock()
	for ref := range s.loads {
		set[ref] = true
	}
	s.mu.Unlock()
	if s.workers != nil {
		refs, err := s.workers.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			set[r] = true
		}
	}
	return slices.SortedFunc(maps.Keys(set), func(a, b core.WorkloadRef) int {
		if a.EventID != b.EventID {
			if a.EventID < b.EventID {
				return -1
			}
			return 1
		}
		switch {
		case a.Job < b.Job:
			return -1
		case a.Job > b.Job:
			return 1
		}
		return 0
	}), nil
}

// Running counts pods that have not ended, plus Options.Workers' workers.
func (s *Substrate) Running(ctx context.Context) (workers, jobs int, err error) {
	if err := s.waitSynced(ctx); err != nil {
		return 0, 0, err
	}
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		return 0, 0, fmt.Errorf("kubernetes substrate: listing pods: %w", err)
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		switch p.Labels[LabelRole] {
		case RoleWorker:
			workers++
		case RoleJob:
			jobs++
		}
	}
	if s.workers != nil {
		w, _, err := s.workers.Running(ctx)
		if err != nil {
			return 0, 0, err
		}
		workers += w
	}
	return workers, jobs, nil
}

// Cleanup stops what still runs of the event and deletes its pods,
// Secrets and workspace claim, in every namespace. Idempotent.
func (s *Substrate) Cleanup(ctx context.Context, eventID string) error {
	var errs []error
	if s.workers != nil {
		errs = append(errs, s.workers.Cleanup(ctx, eventID))
	}
	s.mu.Lock()
	var mine []*workload
	for ref, w := range s.loads {
		if ref.EventID == eventID {
			mine = append(mine, w)
		}
	}
	s.mu.Unlock()
	for _, w := range mine {
		errs = append(errs, s.Stop(ctx, w.ref, 0))
	}
	sel := labels.SelectorFromSet(labels.Set{
		LabelManagedBy: ManagedBy, LabelOwner: s.opts.Pods.owner(), LabelEvent: labelValue(eventID),
	}).String()
	list := metav1.ListOptions{LabelSelector: sel}
	var pods corev1.PodList
	err := s.cs.list(ctx, "", resPods, list, &pods)
	errs = append(errs, err)
	if err == nil {
		for _, p := range pods.Items {
			errs = append(errs, ignoreNotFound(s.cs.delete(ctx, p.Namespace, resPods, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})))
		}
	}
	var secrets corev1.SecretList
	err = s.cs.list(ctx, "", resSecrets, list, &secrets)
	errs = append(errs, err)
	if err == nil {
		for _, x := range secrets.Items {
			errs = append(errs, ignoreNotFound(s.cs.delete(ctx, x.Namespace, resSecrets, x.Name, metav1.DeleteOptions{})))
		}
	}
	var claims corev1.PersistentVolumeClaimList
	err = s.cs.list(ctx, "", resClaims, list, &claims)
	errs = append(errs, err)
	if err == nil {
		for _, x := range claims.Items {
			errs = append(errs, ignoreNotFound(s.cs.delete(ctx, x.Namespace, resClaims, x.Name, metav1.DeleteOptions{})))
		}
	}
	// Wait for the stopped workloads to end, so that their logs are in.
	for _, w := range mine {
		select {
		case <-w.done:
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		case <-s.ctx.Done():
		}
	}
	s.mu.Lock()
	for _, w := range mine {
		if s.loads[w.ref] == w {
			delete(s.loads, w.ref)
		}
	}
	s.mu.Unlock()
	// Then until the watch has seen the pods go, so that List and Running
	// no longer count them.
	evSel := labels.SelectorFromSet(labels.Set{LabelEvent: labelValue(eventID)})
	for ctx.Err() == nil && s.ctx.Err() == nil {
		news := s.podNews()
		left, err := s.pods.List(evSel)
		if err != nil || len(left) == 0 {
			break
		}
		select {
		case <-news:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("%d pods of the event are still being deleted: %w", len(left), ctx.Err()))
		case <-s.ctx.Done():
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kubernetes substrate: cleaning up event %s: %w", eventID, err)
	}
	return nil
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
