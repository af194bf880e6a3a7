package kube

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The control plane schedules pods onto kwok's nodes, keeps untolerated
// pods off the tainted virtual-kubelet node, and runs pods to completion.
func TestControlPlane(t *testing.T) {
	c := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := c.AddNode(ctx, NodeOptions{Name: "node-1"}); err != nil {
		t.Fatal(err)
	}
	vk, err := c.AddVirtualKubelet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vk.Spec.Taints) != 1 || vk.Spec.Taints[0].Key != VirtualKubeletTaint.Key {
		t.Fatalf("virtual-kubelet's taints are %v, want only %s", vk.Spec.Taints, VirtualKubeletTaint.Key)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-test"}}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Pods need the namespace's default service account, which the
	// controller manager creates.
	if err := waitFor("the namespace's default service account", startDeadline, c.procs, func() error {
		_, err := c.Client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	pod := func(name string, tolerate bool) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns.Name},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				NodeSelector:  map[string]string{"kubernetes.io/hostname": "virtual-kubelet"},
				Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
			},
		}
		if tolerate {
			p.Spec.Tolerations = []corev1.Toleration{{Key: VirtualKubeletTaint.Key,
				Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		}
		return p
	}
	for _, p := range []*corev1.Pod{pod("tolerates", true), pod("does-not", false)} {
		if _, err := c.Client.CoreV1().Pods(ns.Name).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	podState := func(name string, ok func(*corev1.Pod) error) {
		t.Helper()
		if err := waitFor("pod "+name, startDeadline, c.procs, func() error {
			p, err := c.Client.CoreV1().Pods(ns.Name).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			return ok(p)
		}); err != nil {
			t.Fatal(err)
		}
	}
	podState("tolerates", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodSucceeded {
			return fmt.Errorf("phase %s", p.Status.Phase)
		}
		if p.Spec.NodeName != "virtual-kubelet" {
			t.Errorf("pod ran on %q, want virtual-kubelet", p.Spec.NodeName)
		}
		return nil
	})
	podState("does-not", func(p *corev1.Pod) error {
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse &&
				cond.Reason == corev1.PodReasonUnschedulable {
				return nil
			}
		}
		if p.Spec.NodeName != "" {
			t.Fatalf("a pod without the toleration was scheduled onto %s", p.Spec.NodeName)
		}
		return fmt.Errorf("not yet found unschedulable: %v", p.Status.Conditions)
	})
}
