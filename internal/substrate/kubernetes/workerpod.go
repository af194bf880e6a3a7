package kubernetes

import (
	"maps"
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/brigadeplatform/brigade/internal/core"
)

// WorkerPod plans an event's worker as a pod, following the worker
// contract (docs/worker-contract.md): the event document from the event's
// Secret at /var/event/event.json, the source checked out by git-init into
// /var/vcs when the project has git, the workspace claim at /var/workspace
// when the template uses one. A worker template that names an image runs
// that image with its command and arguments; otherwise our own image runs
// the built-in worker (`brigade worker`).
//
// The caller creates the event's Secret (EventSecretObject) and, when the
// template uses one, the workspace claim (WorkspaceClaimObject) first.
func WorkerPod(o PodOptions, w *core.WorkerLaunch) *corev1.Pod {
	ev := w.Event
	spec := ev.Worker.Spec
	id := ev.Metadata.ID
	labels := o.labels(ev.ProjectID, id)
	labels[LabelRole] = RoleWorker

	ctr := corev1.Container{
		Name:            WorkerContainer,
		Image:           o.image(),
		ImagePullPolicy: o.ImagePullPolicy,
		Command:         []string{"brigade", "worker"},
		Env: []corev1.EnvVar{
			{Name: "BRIGADE_EVENT_FILE", Value: core.WorkerEventFile},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: volumeEvent, MountPath: path.Dir(core.WorkerEventFile), ReadOnly: true},
		},
	}
	if image := core.WorkerImage(&spec); image != "" {
		c := spec.Container
		ctr.Image = image
		ctr.ImagePullPolicy, _ = pullPolicy(WorkerContainer, c.ImagePullPolicy)
		ctr.Command = slices.Clone(c.Command)
		ctr.Args = slices.Clone(c.Arguments)
	}
	env := map[string]string{}
	if spec.Container != nil {
		maps.Copy(env, spec.Container.Environment)
	}
	maps.Copy(env, w.Env)
	delete(env, "BRIGADE_EVENT_FILE")
	// The source folder is always a writable volume: the built-in worker
	// writes the project's script files there even without git. With git,
	// git-init has filled it before the worker starts.
	env["BRIGADE_SOURCE"] = core.WorkerSourceDir
	hasGit := spec.Git != nil && spec.Git.CloneURL != ""
	if hasGit {
		env["BRIGADE_SOURCE_READY"] = "1"
	}
	if spec.UseWorkspace {
		env["BRIGADE_WORKSPACE"] = core.WorkerWorkspaceDir
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: k, Value: env[k]})
	}

	pod := corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		AutomountServiceAccountToken:  ptr(false),
		EnableServiceLinks:            ptr(false),
		TerminationGracePeriodSeconds: ptr(int64(30)),
		Volumes:                       []corev1.Volume{eventVolume(id)},
	}
	if spec.Kubernetes != nil {
		pod.ImagePullSecrets = pullSecrets(spec.Kubernetes.ImagePullSecrets)
	}
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: volumeSource,
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: volumeSource, MountPath: core.WorkerSourceDir})
	if hasGit {
		pod.InitContainers = []corev1.Container{gitInitContainer(o)}
	}
	if spec.UseWorkspace {
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: volumeWorkspace, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: WorkspaceClaimName(id)},
		}})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: volumeWorkspace, MountPath: core.WorkerWorkspaceDir})
	}
	pod.Containers = []corev1.Container{ctr}
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: WorkerPodName(id), Namespace: o.Namespace(ev.ProjectID), Labels: labels},
		Spec:       pod,
	}
}
