// Package core holds the domain model shared by every part of the platform:
// projects, events, workers, jobs and logs, their phases and legal
// transitions, the sentinel errors, and the interfaces that stores and
// substrates implement. The JSON shapes of these types are Brigade v2's wire
// format (see docs/api.md, "Objects"), so the API encodes them as-is.
package core

import "time"

// APIVersion is the apiVersion every enveloped object carries.
const APIVersion = "brigade.sh/v2"

// ObjectMeta identifies a stored object.
type ObjectMeta struct {
	ID      string     `json:"id,omitempty"`
	Created *time.Time `json:"created,omitempty"`
}

// ListMeta is the pagination block of every list.
type ListMeta struct {
	Continue           string `json:"continue,omitempty"`
	RemainingItemCount int64  `json:"remainingItemCount"`
}

// Project is a set of event subscriptions plus the template for the worker
// that handles each event.
type Project struct {
	Metadata    ObjectMeta         `json:"metadata"`
	Description string             `json:"description,omitempty"`
	Spec        ProjectSpec        `json:"spec"`
	Kubernetes  *ProjectKubernetes `json:"kubernetes,omitempty"`
}

// ProjectKubernetes is server-assigned, read-only substrate information.
type ProjectKubernetes struct {
	Namespace string `json:"namespace,omitempty"`
}

// ProjectSpec is what a project subscribes to and how its worker is built.
type ProjectSpec struct {
	EventSubscriptions []EventSubscription `json:"eventSubscriptions,omitempty"`
	WorkerTemplate     WorkerSpec          `json:"workerTemplate"`
}

// EventSubscription selects events by source, type, qualifiers and labels.
type EventSubscription struct {
	Source     string            `json:"source,omitempty"`
	Types      []string          `json:"types,omitempty"`
	Qualifiers map[string]string `json:"qualifiers,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// ContainerSpec describes an OCI container (or, on the local substrate, a
// host process).
type ContainerSpec struct {
	Image           string            `json:"image,omitempty"`
	ImagePullPolicy string            `json:"imagePullPolicy,omitempty"`
	Command         []string          `json:"command,omitempty"`
	Arguments       []string          `json:"arguments,omitempty"`
	Environment     map[string]string `json:"environment,omitempty"`
}

// WorkerSpec is the template (on a project) or the resolved spec (on an
// event) of the worker that runs the script.
type WorkerSpec struct {
	Container            *ContainerSpec    `json:"container,omitempty"`
	UseWorkspace         bool              `json:"useWorkspace"`
	WorkspaceSize        string            `json:"workspaceSize,omitempty"`
	Git                  *GitConfig        `json:"git,omitempty"`
	Kubernetes           *WorkerKubernetes `json:"kubernetes,omitempty"`
	JobPolicies          *JobPolicies      `json:"jobPolicies,omitempty"`
	LogLevel             string            `json:"logLevel,omitempty"`
	ConfigFilesDirectory string            `json:"configFilesDirectory,omitempty"`
	DefaultConfigFiles   map[string]string `json:"defaultConfigFiles,omitempty"`
	TimeoutDuration      string            `json:"timeoutDuration,omitempty"`
	// ConfigFiles is an addition to Brigade v2 (docs/api.md), set only on
	// an event's worker, never on a project's template: the files an event
	// brought (`brig exec -f`). They win over defaultConfigFiles and over
	// files from git.
	ConfigFiles map[string]string `json:"configFiles,omitempty"`
}

// WorkerKubernetes holds Kubernetes-only worker settings.
type WorkerKubernetes struct {
	ImagePullSecrets []string `json:"imagePullSecrets,omitempty"`
}

// JobPolicies limits what the worker's jobs may ask for.
type JobPolicies struct {
	AllowPrivileged bool `json:"allowPrivileged"`
	// AllowDockerSocketMount lets jobs mount the host's Docker socket
	// (useHostDockerSocket). Brigade v2's schema accepted it but dropped it;
	// we keep and enforce it (docs/api.md).
	AllowDockerSocketMount bool `json:"allowDockerSocketMount,omitempty"`
}

// GitConfig says where the worker's source checkout comes from.
type GitConfig struct {
	CloneURL       string `json:"cloneURL,omitempty"`
	Commit         string `json:"commit,omitempty"`
	Ref            string `json:"ref,omitempty"`
	InitSubmodules bool   `json:"initSubmodules"`
}

// GitDetails is the git information an event may carry.
type GitDetails struct {
	CloneURL string `json:"cloneURL,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Ref      string `json:"ref,omitempty"`
}

// SourceState is gateway-private state attached to an event.
type SourceState struct {
	State map[string]string `json:"state,omitempty"`
}

// Event is one occurrence delivered to one project.
type Event struct {
	Metadata    ObjectMeta        `json:"metadata"`
	ProjectID   string            `json:"projectID,omitempty"`
	Source      string            `json:"source,omitempty"`
	SourceState *SourceState      `json:"sourceState,omitempty"`
	Type        string            `json:"type,omitempty"`
	Qualifiers  map[string]string `json:"qualifiers,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	ShortTitle  string            `json:"shortTitle,omitempty"`
	LongTitle   string            `json:"longTitle,omitempty"`
	Git         *GitDetails       `json:"git,omitempty"`
	Payload     string            `json:"payload,omitempty"`
	// ConfigFiles is an addition to Brigade v2 (docs/api.md), accepted on
	// create only: config files (file name → content) for this event's
	// worker, e.g. the script of `brig exec -f`. The created event carries
	// them in worker.spec.configFiles instead.
	ConfigFiles map[string]string `json:"configFiles,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	Worker      *Worker           `json:"worker,omitempty"`
}

// Worker is the event's script runner: its spec, status and jobs.
type Worker struct {
	Spec   WorkerSpec   `json:"spec"`
	Status WorkerStatus `json:"status"`
	Jobs   []Job        `json:"jobs,omitempty"`
}

// WorkerStatus is the observable state of a worker.
type WorkerStatus struct {
	Started *time.Time  `json:"started,omitempty"`
	Ended   *time.Time  `json:"ended,omitempty"`
	Phase   WorkerPhase `json:"phase,omitempty"`
}

// Job is one unit of work a worker asked for.
type Job struct {
	Name    string     `json:"name"`
	Created *time.Time `json:"created,omitempty"`
	Spec    JobSpec    `json:"spec"`
	Status  *JobStatus `json:"status,omitempty"`
}

// JobSpec describes a job's containers and limits.
type JobSpec struct {
	PrimaryContainer  JobContainerSpec            `json:"primaryContainer"`
	SidecarContainers map[string]JobContainerSpec `json:"sidecarContainers,omitempty"`
	TimeoutDuration   string                      `json:"timeoutDuration,omitempty"`
	Host              *JobHost                    `json:"host,omitempty"`
	Fallible          bool                        `json:"fallible"`
	// Cache is an addition to Brigade v2 (docs/api.md): a folder kept
	// across events for this project and job name (Brigade v1's job cache).
	Cache *JobCache `json:"cache,omitempty"`
}

// JobCache asks for a per-project, per-job folder that outlives events.
type JobCache struct {
	Path string `json:"path,omitempty"` // where the job sees it
	Size string `json:"size,omitempty"` // a quantity such as "5Mi"; substrates may ignore it
}

// Resources are CPU and memory quantities ("500m", "1", "128Mi", "1Gi").
type Resources struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

// ResourceRequirements are a container's requests and limits.
type ResourceRequirements struct {
	Requests *Resources `json:"requests,omitempty"`
	Limits   *Resources `json:"limits,omitempty"`
}

// JobContainerSpec is a ContainerSpec plus the job-only container settings.
type JobContainerSpec struct {
	ContainerSpec
	WorkingDirectory   string `json:"workingDirectory,omitempty"`
	WorkspaceMountPath string `json:"workspaceMountPath,omitempty"`
	SourceMountPath    string `json:"sourceMountPath,omitempty"`
	Privileged         bool   `json:"privileged"`
	// Additions to Brigade v2 (docs/api.md), used by Brigade v1 scripts.
	Resources           *ResourceRequirements `json:"resources,omitempty"`
	ServiceAccount      string                `json:"serviceAccount,omitempty"`
	UseHostDockerSocket bool                  `json:"useHostDockerSocket,omitempty"`
}

// JobHost selects the kind of node a job runs on.
type JobHost struct {
	OS           string            `json:"os,omitempty"`
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Name is an addition to Brigade v2 (docs/api.md): a node name
	// (Brigade v1's host.name).
	Name string `json:"name,omitempty"`
}

// JobStatus is the observable state of a job.
type JobStatus struct {
	Started     *time.Time `json:"started,omitempty"`
	Ended       *time.Time `json:"ended,omitempty"`
	Phase       JobPhase   `json:"phase,omitempty"`
	LogsEventID string     `json:"logsEventID,omitempty"`
	// ExitCode and Reason are additions to Brigade v2 (docs/api.md): how
	// the job's primary container ended, once it has. ExitCode is absent
	// when the container never ran; Reason is in words ("exit code 3",
	// "cannot pull image ...").
	ExitCode *int   `json:"exitCode,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// LogEntry is one line a worker or job container wrote.
type LogEntry struct {
	Time    *time.Time `json:"time,omitempty"`
	Message string     `json:"message,omitempty"`
}

// Secret is one project secret. Value is write-only on the wire.
type Secret struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// Token carries a bearer token handed out once.
type Token struct {
	Value string `json:"value"`
}

// ThirdPartyAuthDetails starts a third-party login: the person opens
// AuthURL in a browser, and Token works once the provider has sent them
// back to the server.
type ThirdPartyAuthDetails struct {
	AuthURL string `json:"authURL"`
	Token   string `json:"token"`
}

// PrincipalReference names who is calling.
type PrincipalReference struct {
	Type PrincipalType `json:"type,omitempty"`
	ID   string        `json:"id,omitempty"`
}

// PrincipalType is the kind of a principal.
type PrincipalType string

// Principal types.
const (
	PrincipalTypeUser           PrincipalType = "USER"
	PrincipalTypeServiceAccount PrincipalType = "SERVICE_ACCOUNT"
	PrincipalTypeRoot           PrincipalType = "ROOT"
)

// Redacted replaces every secret value the API reads back.
const Redacted = "*** REDACTED ***"

// Reserved labels added by clone and retry.
const (
	LabelCloneOf = "brigade.sh/cloneOf"
	LabelRetryOf = "brigade.sh/retryOf"
)

// Worker spec defaults applied when an event is created.
const (
	DefaultWorkspaceSize        = "10Gi"
	DefaultLogLevel             = "INFO"
	DefaultConfigFilesDirectory = ".brigade"
)
