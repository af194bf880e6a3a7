package integration_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/substrate/kubernetes"
	"github.com/brigadeplatform/brigade/internal/testenv"
	"github.com/brigadeplatform/brigade/internal/testenv/kube"
)

// The classic tutorial's fan-out, unmodified Brigade v1: a Group of
// countdowns that ask for host.name = "virtual-kubelet" and resources,
// run with runAll beside one sequential job.
const fanOutScript = `const { events, Job, Group } = require("brigadier");

events.on("exec", async (e, p) => {
  const group = new Group();
  for (let i = 1; i <= %d; i++) {
    const job = new Job("countdown-" + i, "alpine:3.20");
    job.tasks = ["for n in 3 2 1; do echo $n; sleep 1; done"];
    job.host.name = "virtual-kubelet";
    job.resourceRequests.cpu = "500m";
    job.resourceRequests.memory = "256Mi";
    group.add(job);
  }
  const sequential = new Job("sequential", "alpine:3.20");
  sequential.tasks = ["echo one at a time"];
  await Promise.all([group.runAll(), sequential.run()]);
});
`

// TestKubernetesFanOutBurstsOntoVirtualKubelet runs the fan-out through the
// real server on the kubernetes substrate, with the worker a host process
// and the jobs pods on a real apiserver: the group's pods land on the
// tainted virtual-kubelet node with the node selector, tolerations and
// resources the script asked for, they all run at once, and the event
// succeeds.
func TestKubernetesFanOutBurstsOntoVirtualKubelet(t *testing.T) {
	const group = 10
	cluster := kube.Start(t, kube.Options{GatedNodes: []string{"virtual-kubelet"}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*deadline)
	defer cancel()
	if _, err := cluster.AddNode(ctx, kube.NodeOptions{Name: "node-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.AddVirtualKubelet(ctx); err != nil {
		t.Fatal(err)
	}
	srv, _ := testenv.Server(t, server.Config{RootPassword: "integration-password", CleanupDelay: time.Hour,
		Substrate: "kubernetes", Kube: server.KubeConfig{Kubeconfig: cluster.Kubeconfig, Owner: "fan-out"}})
	c, err := testenv.RootClient(ctx, srv, "integration-password")
	if err != nil {
		t.Fatal(err)
	}
	p := &core.Project{Metadata: core.ObjectMeta{ID: "fan-out"}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
		WorkerTemplate: core.WorkerSpec{DefaultConfigFiles: map[string]string{
			"brigade.js": fmt.Sprintf(fanOutScript, group),
		}},
	}}
	if _, err := c.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: p.Metadata.ID, Source: "brigade.sh/cli", Type: "exec"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating the event: %v (%d events)", err, len(evs))
	}
	id := evs[0].Metadata.ID
	ns := kubernetes.NamespaceName(kubernetes.DefaultNamespacePrefix, p.Metadata.ID)

	// Every pod of the group runs at once: kwok holds them on the gated
	// node until all are seen running, then the test lets them finish.
	sel := metav1.ListOptions{LabelSelector: kubernetes.LabelEvent + "=" + id}
	var held []corev1.Pod
	waitUntil(t, ctx, "the group's pods all running on virtual-kubelet", func() error {
		pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			return err
		}
		held = held[:0]
		for _, pod := range pods.Items {
			if strings.HasPrefix(pod.Labels[kubernetes.LabelJob], "countdown-") && pod.Status.Phase == corev1.PodRunning {
				held = append(held, pod)
			}
		}
		if len(held) < group {
			return fmt.Errorf("%d of %d running", len(held), group)
		}
		return nil
	})
	for _, pod := range held {
		if pod.Spec.NodeName != "virtual-kubelet" {
			t.Errorf("pod %s runs on %q, want virtual-kubelet", pod.Name, pod.Spec.NodeName)
		}
		if pod.Spec.NodeSelector["kubernetes.io/hostname"] != "virtual-kubelet" {
			t.Errorf("pod %s's node selector is %v", pod.Name, pod.Spec.NodeSelector)
		}
		tolerates := false
		for _, tol := range pod.Spec.Tolerations {
			tolerates = tolerates || (tol.Key == kube.VirtualKubeletTaint.Key && tol.Effect == corev1.TaintEffectNoSchedule)
		}
		if !tolerates {
			t.Errorf("pod %s does not tolerate %s: %v", pod.Name, kube.VirtualKubeletTaint.Key, pod.Spec.Tolerations)
		}
		req := pod.Spec.Containers[0].Resources.Requests
		if cpu, mem := req[corev1.ResourceCPU], req[corev1.ResourceMemory]; cpu.String() != "500m" || mem.String() != "256Mi" {
			t.Errorf("pod %s requests cpu %s, memory %s; want 500m, 256Mi", pod.Name, cpu.String(), mem.String())
		}
		if err := cluster.Release(ctx, ns, pod.Name); err != nil {
			t.Fatal(err)
		}
	}

	phase := finalPhase(ctx, t, c, id)
	if phase != core.PhaseSucceeded {
		t.Errorf("the event ended %s, want SUCCEEDED", phase)
	}
	seq, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, kubernetes.JobPodName(id, "sequential"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tol := range seq.Spec.Tolerations {
		if tol.Key == kube.VirtualKubeletTaint.Key {
			t.Errorf("the sequential job, which names no node, tolerates %s", tol.Key)
		}
	}
	if seq.Spec.NodeName != "node-1" {
		t.Errorf("the sequential job ran on %q, want node-1 (the only untainted node)", seq.Spec.NodeName)
	}
}

// waitUntil polls cond until it returns nil or ctx ends.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() error) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-tick.C:
		}
	}
}
