package kubernetes

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/substratetest"
	"github.com/brigadeplatform/brigade/internal/testenv/kube"
)

// The substrate against a real apiserver, with kwok playing the nodes: it
// creates what the pure functions plan, follows pods through the watch,
// and reports their ends. (kwok runs no processes, so the conformance
// suite, whose cases check what scripts print, needs the real-kubelet
// tier; these cases check what a pod's lifecycle alone shows.)
func TestAgainstKwok(t *testing.T) {
	c := kube.Start(t, kube.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, n := range []string{"node-1", kube.HoldNode, kube.FailNode} {
		if _, err := c.AddNode(ctx, kube.NodeOptions{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AddVirtualKubelet(ctx); err != nil {
		t.Fatal(err)
	}
	logPodsOnFailure(t, c, func(p *corev1.Pod) any { return p.Status.Conditions })
	sink := substratetest.NewMemSink()
	s, err := New(Options{Config: c.Config, Sink: sink, Pods: PodOptions{Owner: "kwok-test"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}

	job := func(ev, name string, host *core.JobHost) *core.JobLaunch {
		return &core.JobLaunch{
			EventID: ev, ProjectID: "kwok", Environment: map[string]map[string]string{name: {"SECRET": "s3cret"}},
			Job: &core.Job{Name: name, Spec: core.JobSpec{
				PrimaryContainer: core.JobContainerSpec{
					ContainerSpec: core.ContainerSpec{Image: "alpine:3.20", Command: []string{"sh", "-c", "echo hi"}},
					Resources:     &core.ResourceRequirements{Requests: &core.Resources{CPU: "1", Memory: "1Gi"}},
				},
				Host: host,
			}},
		}
	}
	ref := func(jl *core.JobLaunch) core.WorkloadRef {
		return core.WorkloadRef{EventID: jl.EventID, Job: jl.Job.Name}
	}
	cleanup := func(t *testing.T, ev string) {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.Cleanup(ctx, ev); err != nil {
				t.Errorf("Cleanup(%s): %v", ev, err)
			}
		})
	}

	t.Run("VirtualKubeletJobSucceeds", func(t *testing.T) {
		const ev = "ev-vk"
		cleanup(t, ev)
		jl := job(ev, "countdown", &core.JobHost{Name: "virtual-kubelet"})
		if _, err := s.StartJob(ctx, jl); err != nil {
			t.Fatal(err)
		}
		st, err := s.Wait(ctx, ref(jl))
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase != core.PhaseSucceeded || st.ExitCode != 0 || st.Stopped {
			t.Errorf("the job ended %+v, want SUCCEEDED with exit code 0", st)
		}
		pod, err := c.Client.CoreV1().Pods("brigade-kwok").Get(ctx, JobPodName(ev, "countdown"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pod.Spec.NodeName != "virtual-kubelet" {
			t.Errorf("the pod ran on %q, want virtual-kubelet", pod.Spec.NodeName)
		}
		if q := pod.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; q.String() != "1" {
			t.Errorf("the pod requests %s CPUs, want 1", q.String())
		}
		env, err := c.Client.CoreV1().Secrets("brigade-kwok").Get(ctx, JobPodName(ev, "countdown"), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the job's environment Secret: %v", err)
		}
		if string(env.Data["countdown.SECRET"]) != "s3cret" {
			t.Errorf("the job's Secret holds %q", env.Data)
		}
		s := core.LogStream{EventID: ev, Job: "countdown", Container: "countdown"}
		if !sink.Closed(s) {
			t.Error("Wait returned before the job's log stream was closed")
		}
		// kwok serves its canned log through the API as a kubelet would:
		// every line once, in order, however often the follower read it.
		var lines []string
		for _, l := range sink.Lines(s) {
			if !strings.HasPrefix(l, notePrefix) {
				lines = append(lines, l)
			}
		}
		if !slices.Equal(lines, kube.DefaultContainerLog) {
			t.Errorf("the job's log is %q, want %q (all lines: %q)", lines, kube.DefaultContainerLog, sink.Lines(s))
		}
	})

	t.Run("FailingJobFails", func(t *testing.T) {
		const ev = "ev-fail"
		cleanup(t, ev)
		jl := job(ev, "fails", &core.JobHost{NodeSelector: map[string]string{"kubernetes.io/hostname": kube.FailNode}})
		if _, err := s.StartJob(ctx, jl); err != nil {
			t.Fatal(err)
		}
		st, err := s.Wait(ctx, ref(jl))
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase != core.PhaseFailed || st.ExitCode != kube.FailExitCode || st.Reason == "" {
			t.Errorf("the job ended %+v, want FAILED with exit code %d and a reason", st, kube.FailExitCode)
		}
	})

	t.Run("ForbiddenPrivilegedFailsAtOnce", func(t *testing.T) {
		const ev = "ev-priv"
		cleanup(t, ev)
		jl := job(ev, "priv", nil)
		jl.Job.Spec.PrimaryContainer.Privileged = true
		if _, err := s.StartJob(ctx, jl); err != nil {
			t.Fatal(err)
		}
		st, err := s.Wait(ctx, ref(jl))
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase != core.PhaseFailed || st.ExitCode != -1 {
			t.Errorf("the job ended %+v, want FAILED with exit code -1", st)
		}
		lines := sink.Lines(core.LogStream{EventID: ev, Job: "priv", Container: "priv"})
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "allowPrivileged") }) {
			t.Errorf("the job's log does not say why: %q", lines)
		}
		if !s.listed(t, ctx, ref(jl)) {
			t.Error("List leaves out a job that failed before it had a pod")
		}
	})

	t.Run("StopRunningsListCleanup", func(t *testing.T) {
		const ev = "ev-hold"
		jl := job(ev, "held", &core.JobHost{NodeSelector: map[string]string{"kubernetes.io/hostname": kube.HoldNode}})
		if _, err := s.StartJob(ctx, jl); err != nil {
			t.Fatal(err)
		}
		if _, jobs, err := s.Running(ctx); err != nil || jobs < 1 {
			t.Errorf("Running says %d jobs (%v) while one runs", jobs, err)
		}
		if !s.listed(t, ctx, ref(jl)) {
			t.Error("List leaves out a running job")
		}
		// A second substrate (a restarted server) finds the pod through
		// its watch, re-attaches to it and stops it.
		other, err := New(Options{Config: c.Config, Sink: substratetest.NewMemSink(), Pods: PodOptions{Owner: "kwok-test"}})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if !other.listed(t, ctx, ref(jl)) {
			t.Error("a restarted substrate's List leaves out a running job")
		}
		if err := other.Stop(ctx, ref(jl), time.Second); err != nil {
			t.Fatal(err)
		}
		st, err := other.Wait(ctx, ref(jl))
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase != core.PhaseAborted || !st.Stopped {
			t.Errorf("a stopped job ended %+v, want ABORTED and Stopped", st)
		}
		if _, err := s.Wait(ctx, ref(jl)); err != nil {
			t.Errorf("the first substrate's Wait on the job another stopped: %v", err)
		}
		if err := s.Cleanup(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if err := s.Cleanup(ctx, ev); err != nil {
			t.Fatalf("a second Cleanup: %v", err)
		}
		left, err := c.Client.CoreV1().Secrets("brigade-kwok").List(ctx, metav1.ListOptions{LabelSelector: LabelEvent + "=" + ev})
		if err != nil || len(left.Items) != 0 {
			t.Errorf("after Cleanup, %d Secrets of the event are left (%v)", len(left.Items), err)
		}
	})

	t.Run("NamespaceLabelled", func(t *testing.T) {
		ns, err := c.Client.CoreV1().Namespaces().Get(ctx, "brigade-kwok", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ns.Labels[LabelProject] != "kwok" || ns.Labels[LabelManagedBy] != ManagedBy {
			t.Errorf("the namespace's labels are %v", ns.Labels)
		}
	})
}

// listed reports whether List names ref.
func (s *Substrate) listed(t *testing.T, ctx context.Context, ref core.WorkloadRef) bool {
	t.Helper()
	refs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(refs, ref)
}

// logPodsOnFailure lists every pod of the cluster, with detail(pod), in
// the test's log if the test failed.
func logPodsOnFailure(t *testing.T, c *kube.Cluster, detail func(p *corev1.Pod) any) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		pods, err := c.Client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Logf("listing pods: %v", err)
			return
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			t.Logf("pod %s/%s on %q: %s %v", p.Namespace, p.Name, p.Spec.NodeName, p.Status.Phase, detail(p))
		}
	})
}
