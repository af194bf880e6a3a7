package kubernetes

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NamespaceObject is the namespace of a project's workloads, labelled as
// ours and with the project it belongs to.
func NamespaceObject(o PodOptions, projectID string) *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   o.Namespace(projectID),
			Labels: o.labels(projectID, ""),
		},
	}
}

// ProjectSecretsObject holds a project's secrets (key → value) in its
// namespace.
func ProjectSecretsObject(o PodOptions, projectID string, secrets map[string]string) *corev1.Secret {
	l := o.labels(projectID, "")
	l[LabelComponent] = ComponentProjectSecrets
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: ProjectSecretsName, Namespace: o.Namespace(projectID), Labels: l},
		Type:       corev1.SecretTypeOpaque,
		StringData: maps.Clone(secrets),
	}
}

// EventSecretObject holds an event's worker document (event.json: the
// worker's token and the project's secrets), for the worker pod and for
// the git-init containers that check the source out.
func EventSecretObject(o PodOptions, projectID, eventID string, doc []byte) *corev1.Secret {
	l := o.labels(projectID, eventID)
	l[LabelComponent] = ComponentEvent
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: EventSecretName(eventID), Namespace: o.Namespace(projectID), Labels: l},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{EventDocumentKey: slices.Clone(doc)},
	}
}

// WorkspaceClaimObject is an event's shared workspace: size is the worker
// template's workspaceSize ("" for DefaultWorkspaceSize). A size that is no
// quantity is an error that says so.
func WorkspaceClaimObject(o PodOptions, projectID, eventID, size string) (*corev1.PersistentVolumeClaim, error) {
	if size == "" {
		size = DefaultWorkspaceSize
	}
	q, err := resource.ParseQuantity(size)
	if err != nil || q.Sign() <= 0 {
		return nil, fmt.Errorf("workspaceSize %q is not a positive quantity such as 512Mi or 10Gi: set the project's workerTemplate.workspaceSize to one", size)
	}
	l := o.labels(projectID, eventID)
	l[LabelComponent] = ComponentWorkspace
	pvc := &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: WorkspaceClaimName(eventID), Namespace: o.Namespace(projectID), Labels: l},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{o.accessMode()},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: q},
			},
		},
	}
	if o.WorkspaceStorageClass != "" {
		sc := o.WorkspaceStorageClass
		pvc.Spec.StorageClassName = &sc
	}
	return pvc, nil
}
