package kube

import (
	"context"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// provisionVolumes plays a storage provisioner for the kubelet's node
// until ctx ends: each new claim gets a hostPath volume under root,
// bound to it in advance (the controller manager's binder completes the
// binding). A one-node cluster needs nothing more for ReadWriteMany.
func (c *Cluster) provisionVolumes(ctx context.Context, root string) {
	for ctx.Err() == nil {
		w, err := c.Client.CoreV1().PersistentVolumeClaims("").Watch(ctx, metav1.ListOptions{})
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for ev := range w.ResultChan() {
			pvc, ok := ev.Object.(*corev1.PersistentVolumeClaim)
			if !ok || ev.Type != watch.Added || pvc.Spec.VolumeName != "" {
				continue
			}
			_, _ = c.Client.CoreV1().PersistentVolumes().Create(ctx, hostVolume(root, pvc), metav1.CreateOptions{})
		}
		w.Stop()
	}
}

// hostVolume is the volume provisionVolumes makes for pvc.
func hostVolume(root string, pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if size.IsZero() {
		size = resource.MustParse("1Gi")
	}
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + string(pvc.UID)},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   pvc.Spec.AccessModes,
			StorageClassName:              class,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: filepath.Join(root, pvc.Namespace+"_"+pvc.Name+"_"+string(pvc.UID)), Type: &dirOrCreate,
			}},
		},
	}
}
