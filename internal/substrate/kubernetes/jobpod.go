package kubernetes

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/brigadeplatform/brigade/internal/core"
)

// JobPlan is everything a job needs created: its pod and the Secret its
// containers read their environment from (environments hold the project's
// secrets, which belong in a Secret, not in a pod's spec).
type JobPlan struct {
	Pod *corev1.Pod
	Env *corev1.Secret
}

// JobPod plans a job's pod: the primary container, then the sidecars as
// ordinary containers beside it (each runs once, as on the other
// substrates; the substrate ends the pod once the primary has ended and
// the sidecars had their grace), a git-init init container when a
// container mounts the source, the workspace claim, resources, node
// selection and tolerations.
// imagePullSecrets are the worker template's kubernetes.imagePullSecrets.
//
// It returns a reason instead when the job cannot run as specified (a
// privileged container the project's job policy forbids, a bad mount path
// or quantity); the job then fails with it.
func JobPod(o PodOptions, jl *core.JobLaunch, imagePullSecrets []string) (*JobPlan, string) {
	j := jl.Job
	ns := o.Namespace(jl.ProjectID)
	name := JobPodName(jl.EventID, j.Name)
	labels := o.labels(jl.ProjectID, jl.EventID)
	labels[LabelJob] = labelValue(j.Name)
	labels[LabelRole] = RoleJob

	env := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: maps.Clone(labels)},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{},
	}
	env.Labels[LabelComponent] = ComponentJobEnv
	delete(env.Labels, LabelRole)

	names := append([]string{j.Name}, slices.Sorted(maps.Keys(j.Spec.SidecarContainers))...)
	var ctrs []corev1.Container
	var usesSource, usesWorkspace, usesSocket bool
	for i, n := range names {
		c := j.Spec.PrimaryContainer
		if i > 0 {
			c = j.Spec.SidecarContainers[n]
			if n == j.Name {
				return nil, fmt.Sprintf("sidecar %s has the job's name, which names the primary container; rename the sidecar", n)
			}
		}
		ctr, reason := jobContainer(jl, n, c, env)
		if reason != "" {
			return nil, reason
		}
		usesSource = usesSource || c.SourceMountPath != ""
		usesWorkspace = usesWorkspace || c.WorkspaceMountPath != ""
		usesSocket = usesSocket || c.UseHostDockerSocket
		ctrs = append(ctrs, ctr)
	}

	spec := corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		Containers:                    ctrs,
		ImagePullSecrets:              pullSecrets(imagePullSecrets),
		AutomountServiceAccountToken:  ptr(false),
		EnableServiceLinks:            ptr(false),
		TerminationGracePeriodSeconds: ptr(int64(30)),
	}
	if sa := j.Spec.PrimaryContainer.ServiceAccount; sa != "" {
		spec.ServiceAccountName = sa
		spec.AutomountServiceAccountToken = nil
	}
	if usesSource {
		spec.InitContainers = append(spec.InitContainers, gitInitContainer(o))
		spec.Volumes = append(spec.Volumes,
			corev1.Volume{Name: volumeSource, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			eventVolume(jl.EventID))
	}
	if usesWorkspace {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: volumeWorkspace, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: WorkspaceClaimName(jl.EventID)},
		}})
	}
	if usesSocket {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: volumeDockerSocket, VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: dockerSocket, Type: ptr(corev1.HostPathSocket)},
		}})
	}
	spec.NodeSelector, spec.Tolerations = placement(j.Spec.Host)

	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec:       spec,
	}
	if len(env.StringData) == 0 {
		env = nil
	}
	return &JobPlan{Pod: pod, Env: env}, ""
}

// jobContainer plans one container of a job; its environment goes into
// env (the job's Secret) and the container reads it from there.
func jobContainer(jl *core.JobLaunch, name string, c core.JobContainerSpec, env *corev1.Secret) (corev1.Container, string) {
	var ctr corev1.Container
	if c.Image == "" {
		return ctr, fmt.Sprintf("container %s has no image: the kubernetes substrate runs every container from an image; set its image", name)
	}
	if c.Privileged && !jl.AllowPrivileged {
		return ctr, fmt.Sprintf("container %s asks to be privileged, which this project's job policy forbids: "+
			"set workerTemplate.jobPolicies.allowPrivileged: true in the project, or drop privileged from the job", name)
	}
	pull, reason := pullPolicy(name, c.ImagePullPolicy)
	if reason != "" {
		return ctr, reason
	}
	res, reason := resources(name, c.Resources)
	if reason != "" {
		return ctr, reason
	}
	mounts, reason := mounts(name, c, jl.UseWorkspace)
	if reason != "" {
		return ctr, reason
	}
	ctr = corev1.Container{
		Name:            name,
		Image:           c.Image,
		ImagePullPolicy: pull,
		Command:         slices.Clone(c.Command),
		Args:            slices.Clone(c.Arguments),
		WorkingDir:      c.WorkingDirectory,
		Resources:       res,
		VolumeMounts:    mounts,
	}
	if c.Privileged {
		ctr.SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
	}
	vars := jl.Environment[name]
	for i, k := range slices.Sorted(maps.Keys(vars)) {
		key := envKey(name, k, i)
		env.StringData[key] = vars[k]
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: env.Name},
				Key:                  key,
			},
		}})
	}
	return ctr, ""
}

// envKey is the key of a container's variable in the job's Secret:
// "container.NAME" when NAME may be a Secret key, else "container-i".
// Container names have no '.', so the two forms never meet.
func envKey(container, name string, i int) string {
	ok := name != ""
	for j := 0; ok && j < len(name); j++ {
		c := name[j]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if ok {
		return container + "." + name
	}
	return container + "-" + strconv.Itoa(i)
}

// pullPolicy normalises imagePullPolicy; "" lets Kubernetes choose (Always
// for :latest, else IfNotPresent).
func pullPolicy(name, p string) (corev1.PullPolicy, string) {
	switch strings.ToLower(p) {
	case "":
		return "", ""
	case "ifnotpresent":
		return corev1.PullIfNotPresent, ""
	case "always":
		return corev1.PullAlways, ""
	case "never":
		return corev1.PullNever, ""
	}
	return "", fmt.Sprintf("container %s: imagePullPolicy %q is not Always, IfNotPresent or Never", name, p)
}

// resources turns requests and limits into Kubernetes quantities.
func resources(name string, r *core.ResourceRequirements) (corev1.ResourceRequirements, string) {
	var out corev1.ResourceRequirements
	if r == nil {
		return out, ""
	}
	list := func(kind string, q *core.Resources) (corev1.ResourceList, string) {
		if q == nil || (q.CPU == "" && q.Memory == "") {
			return nil, ""
		}
		l := corev1.ResourceList{}
		for _, f := range []struct {
			res   corev1.ResourceName
			value string
			eg    string
		}{{corev1.ResourceCPU, q.CPU, "500m, 1, 1.5"}, {corev1.ResourceMemory, q.Memory, "64Mi, 1Gi, 500M"}} {
			if f.value == "" {
				continue
			}
			v, err := resource.ParseQuantity(strings.TrimSpace(f.value))
			if err != nil || v.Sign() <= 0 {
				return nil, fmt.Sprintf("container %s: resources.%s.%s %q is not a positive quantity (examples: %s)",
					name, kind, f.res, f.value, f.eg)
			}
			l[f.res] = v
		}
		return l, ""
	}
	var reason string
	if out.Requests, reason = list("requests", r.Requests); reason != "" {
		return out, reason
	}
	if out.Limits, reason = list("limits", r.Limits); reason != "" {
		return out, reason
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := out.Requests[res]
		lim, hasLim := out.Limits[res]
		if hasReq && hasLim && req.Cmp(lim) > 0 {
			return out, fmt.Sprintf("container %s: resources.requests.%s is above resources.limits.%s; "+
				"lower the request or raise the limit", name, res, res)
		}
	}
	return out, ""
}

// mounts mounts the source checkout and the workspace at the container's
// mount paths, and the Docker socket when it asks for it.
func mounts(name string, c core.JobContainerSpec, useWorkspace bool) ([]corev1.VolumeMount, string) {
	var out []corev1.VolumeMount
	add := func(field, target, volume string) string {
		if target == "" {
			return ""
		}
		t := path.Clean(target)
		switch {
		case !path.IsAbs(t):
			return fmt.Sprintf("container %s: %s %q is not an absolute path", name, field, target)
		case t == "/":
			return fmt.Sprintf("container %s: %s cannot be /", name, field)
		}
		for _, m := range out {
			if m.MountPath == t {
				return fmt.Sprintf("container %s: sourceMountPath and workspaceMountPath are both %s; use two paths", name, t)
			}
		}
		out = append(out, corev1.VolumeMount{Name: volume, MountPath: t})
		return ""
	}
	if r := add("sourceMountPath", c.SourceMountPath, volumeSource); r != "" {
		return nil, r
	}
	if c.WorkspaceMountPath != "" && !useWorkspace {
		return nil, fmt.Sprintf("container %s asks for workspaceMountPath %s but the worker does not use a workspace; "+
			"set useWorkspace: true in the project's workerTemplate", name, c.WorkspaceMountPath)
	}
	if r := add("workspaceMountPath", c.WorkspaceMountPath, volumeWorkspace); r != "" {
		return nil, r
	}
	if c.UseHostDockerSocket {
		out = append(out, corev1.VolumeMount{Name: volumeDockerSocket, MountPath: dockerSocket})
	}
	return out, ""
}

// placement turns a job's host into a node selector and tolerations.
// host.os selects kubernetes.io/os, host.name kubernetes.io/hostname (as
// Brigade v1's host.name did), and host.nodeSelector adds its own pairs.
// A job that names a node, or selects Virtual Kubelet's type=virtual-kubelet
// label, tolerates the taints virtual nodes carry (VirtualNodeTaints): a
// toleration only permits, so on an ordinary node it changes nothing.
func placement(h *core.JobHost) (map[string]string, []corev1.Toleration) {
	if h == nil {
		return nil, nil
	}
	sel := map[string]string{}
	maps.Copy(sel, h.NodeSelector)
	if h.OS != "" {
		sel["kubernetes.io/os"] = h.OS
	}
	if h.Name != "" {
		sel["kubernetes.io/hostname"] = h.Name
	}
	if len(sel) == 0 {
		sel = nil
	}
	var tol []corev1.Toleration
	if h.Name != "" || h.NodeSelector["type"] == "virtual-kubelet" {
		for _, key := range VirtualNodeTaints {
			tol = append(tol, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	return sel, tol
}

func pullSecrets(names []string) []corev1.LocalObjectReference {
	var out []corev1.LocalObjectReference
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, corev1.LocalObjectReference{Name: n})
		}
	}
	return out
}

// gitInitContainer checks the event's source out into the vcs volume with
// our own `brigade git-init`, from the event document.
func gitInitContainer(o PodOptions) corev1.Container {
	return corev1.Container{
		Name:            GitInitContainer,
		Image:           o.image(),
		ImagePullPolicy: o.ImagePullPolicy,
		Command:         []string{"brigade", "git-init"},
		Env: []corev1.EnvVar{
			{Name: "BRIGADE_EVENT_FILE", Value: core.WorkerEventFile},
			{Name: "BRIGADE_SOURCE_DIR", Value: core.WorkerSourceDir},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: volumeEvent, MountPath: path.Dir(core.WorkerEventFile), ReadOnly: true},
			{Name: volumeSource, MountPath: core.WorkerSourceDir},
		},
	}
}

// eventVolume is the event's Secret as a volume: event.json.
func eventVolume(eventID string) corev1.Volume {
	return corev1.Volume{Name: volumeEvent, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName:  EventSecretName(eventID),
		DefaultMode: ptr(int32(0o444)),
	}}}
}

func ptr[T any](v T) *T { return &v }
