package kubernetes

import (
	corev1 "k8s.io/api/core/v1"
)

// Defaults of PodOptions.
const (
	DefaultNamespacePrefix = "brigade-"
	DefaultWorkspaceSize   = "10Gi"
	DefaultImage           = "brigadeplatform/brigade:latest"
)

// VirtualNodeTaints are the taint keys that virtual nodes carry: Virtual
// Kubelet's, and the one of AKS's ACI connector. A job that targets a
// node by name or by Virtual Kubelet's type label tolerates them, so that
// Brigade v1 scripts that set host.name = "virtual-kubelet" burst as they
// did.
var VirtualNodeTaints = []string{"virtual-kubelet.io/provider", "azure.com/aci"}

// PodOptions are the server's settings that shape the objects the
// substrate creates. The zero value works: every field has a default.
type PodOptions struct {
	// Owner is the value of LabelOwner on everything this server creates,
	// so that two servers sharing a cluster keep apart. Empty means "brigade".
	Owner string
	// NamespacePrefix comes before the project id in namespace names.
	NamespacePrefix string
	// Image is our own image: it runs `brigade git-init` in init
	// containers and the built-in worker when workers run as pods.
	Image string
	// ImagePullPolicy for Image ("" lets Kubernetes decide).
	ImagePullPolicy corev1.PullPolicy
	// WorkspaceStorageClass is the storage class of workspace claims
	// ("" is the cluster's default class).
	WorkspaceStorageClass string
	// WorkspaceAccessMode of workspace claims: ReadWriteMany by default,
	// since an event's jobs may run on several nodes at once.
	WorkspaceAccessMode corev1.PersistentVolumeAccessMode
}

func (o PodOptions) owner() string {
	if o.Owner == "" {
		return ManagedBy
	}
	return labelValue(o.Owner)
}

func (o PodOptions) prefix() string {
	if o.NamespacePrefix == "" {
		return DefaultNamespacePrefix
	}
	return o.NamespacePrefix
}

func (o PodOptions) image() string {
	if o.Image == "" {
		return DefaultImage
	}
	return o.Image
}

func (o PodOptions) accessMode() corev1.PersistentVolumeAccessMode {
	if o.WorkspaceAccessMode == "" {
		return corev1.ReadWriteMany
	}
	return o.WorkspaceAccessMode
}

// Namespace returns the namespace name of a project's workloads.
func (o PodOptions) Namespace(projectID string) string {
	return NamespaceName(o.prefix(), projectID)
}

// labels are the labels every object of a project (and maybe an event)
// carries.
func (o PodOptions) labels(projectID, eventID string) map[string]string {
	l := map[string]string{
		LabelManagedBy: ManagedBy,
		LabelOwner:     o.owner(),
		LabelProject:   labelValue(projectID),
	}
	if eventID != "" {
		l[LabelEvent] = labelValue(eventID)
	}
	return l
}
