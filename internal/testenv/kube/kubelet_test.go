package kube

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A real kubelet runs a pod's container through containerd and runc, its
// log comes back through the API, a claim gets a volume, and the node's
// teardown leaves nothing behind.
func TestKubelet(t *testing.T) {
	var dir string
	t.Run("Node", func(t *testing.T) {
		c := Start(t, Options{Kubelet: true})
		dir = c.kubelet.dir
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		ns := "default"
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}
		if _, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: ns},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "main", Image: BusyboxImage,
					Command:      []string{"sh", "-c", "echo hello from $(cat /proc/1/comm); echo kept > /data/f; cat /data/f"},
					VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
				Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
			},
		}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var last *corev1.Pod
		err := waitFor("the pod to succeed", 3*time.Minute, c.procs, func() error {
			p, err := c.Client.CoreV1().Pods(ns).Get(ctx, "hello", metav1.GetOptions{})
			if err != nil {
				return err
			}
			last = p
			if p.Status.Phase == corev1.PodFailed {
				return nil
			}
			if p.Status.Phase != corev1.PodSucceeded {
				return fmt.Errorf("the pod is %s: %v", p.Status.Phase, p.Status.ContainerStatuses)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if last.Status.Phase != corev1.PodSucceeded || last.Spec.NodeName != c.Node {
			t.Fatalf("the pod ended %s on %q: %+v", last.Status.Phase, last.Spec.NodeName, last.Status.ContainerStatuses)
		}
		b, err := c.Client.CoreV1().Pods(ns).GetLogs("hello", &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); got != "hello from sh\nkept\n" {
			t.Errorf("the pod's log is %q", got)
		}
	})
	if dir == "" {
		return
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the node's directory %s is still there after the cluster stopped (%v)", dir, err)
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(mi), dir) {
		t.Errorf("mounts under %s are left", dir)
	}
	links, _ := os.ReadDir(containerLogLinks)
	for _, l := range links {
		if to, _ := os.Readlink(filepath.Join(containerLogLinks, l.Name())); strings.HasPrefix(to, dir) {
			t.Errorf("the kubelet's log link %s is left", l.Name())
		}
	}
}
