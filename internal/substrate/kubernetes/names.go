package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Labels on every object the substrate creates. They name what the object
// belongs to, so that List finds workloads again after a restart and
// Cleanup finds everything an event left.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by" // always ManagedBy
	LabelOwner     = "brigade.sh/owner"             // Options.Owner: which server owns it
	LabelProject   = "brigade.sh/project"           // project id
	LabelEvent     = "brigade.sh/event"             // event id
	LabelJob       = "brigade.sh/job"               // job name (job pods and their secrets)
	LabelRole      = "brigade.sh/role"              // RoleWorker or RoleJob
	LabelComponent = "brigade.sh/component"         // what a non-pod object is: ComponentEvent, ComponentWorkspace...
)

// ManagedBy is the value of LabelManagedBy.
const ManagedBy = "brigade"

// Values of LabelRole.
const (
	RoleWorker = "worker"
	RoleJob    = "job"
)

// Values of LabelComponent.
const (
	ComponentProjectSecrets = "project-secrets"
	ComponentEvent          = "event"
	ComponentWorkspace      = "workspace"
	ComponentJobEnv         = "job-environment"
)

// Fixed names inside pods.
const (
	// WorkerContainer names the worker's container, as on every substrate.
	WorkerContainer = "worker"
	// GitInitContainer names the init container that checks the source out.
	GitInitContainer = "git-init"
	// EventDocumentKey is the key of the event document in the event's Secret.
	EventDocumentKey = "event.json"
	// ProjectSecretsName names the Secret that holds a project's secrets.
	ProjectSecretsName = "brigade-project-secrets"

	volumeEvent        = "event"
	volumeSource       = "vcs"
	volumeWorkspace    = "workspace"
	volumeDockerSocket = "docker-socket"
	dockerSocket       = "/var/run/docker.sock"
)

// dnsLabel turns s into a DNS-1123 label (lowercase letters, digits and
// '-', starting and ending with a letter or digit, at most max characters).
// A name that had to change, or was too long, gets a short hash of the
// original, so that two different inputs never meet on one output.
func dnsLabel(s string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == s && len(out) <= max && out != "" {
		return out
	}
	sum := sha256.Sum256([]byte(s))
	suffix := hex.EncodeToString(sum[:])[:8]
	keep := max - len(suffix) - 1
	if len(out) > keep {
		out = strings.TrimRight(out[:keep], "-")
	}
	if out == "" {
		return "x-" + suffix
	}
	return out + "-" + suffix
}

// labelValue makes s a valid label value (at most 63 characters of
// letters, digits, '-', '_' and '.', starting and ending alphanumeric).
// Project ids, event ids and job names already are; anything else is made
// into one the way dnsLabel does.
func labelValue(s string) string {
	ok := len(s) <= 63
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		ok = alnum || (i > 0 && i < len(s)-1 && (c == '-' || c == '_' || c == '.'))
	}
	if ok {
		return s
	}
	return dnsLabel(s, 63)
}

// NamespaceName is the namespace of a project's workloads: the prefix
// followed by the project's id, as a DNS label.
func NamespaceName(prefix, projectID string) string {
	return dnsLabel(prefix+projectID, 63)
}

// WorkerPodName names an event's worker pod.
func WorkerPodName(eventID string) string { return dnsLabel("worker-"+eventID, 63) }

// JobPodName names a job's pod. Its hostname is cut to 63 characters by
// Kubernetes, so the name stays within that too.
func JobPodName(eventID, job string) string { return dnsLabel("job-"+eventID+"-"+job, 63) }

// EventSecretName names the Secret holding an event's worker document.
func EventSecretName(eventID string) string { return dnsLabel("event-"+eventID, 63) }

// WorkspaceClaimName names an event's workspace PersistentVolumeClaim.
func WorkspaceClaimName(eventID string) string { return dnsLabel("workspace-"+eventID, 63) }
