package core

// EventDocument is the worker's event.json (docs/worker.md, "The event
// document"): what a
// worker knows about its event, including the project's secrets, the API
// address and its own bearer token. Empty maps and git are null, and an
// empty payload is "", as Brigade's workers wrote them: scripts test them
// for truthiness.
type EventDocument struct {
	ID         string            `json:"id"`
	Source     string            `json:"source"`
	Type       string            `json:"type"`
	Qualifiers map[string]string `json:"qualifiers"`
	Labels     map[string]string `json:"labels"`
	ShortTitle string            `json:"shortTitle"`
	LongTitle  string            `json:"longTitle"`
	Payload    string            `json:"payload"`
	Project    EventDocProject   `json:"project"`
	Worker     EventDocWorker    `json:"worker"`
}

// EventDocProject is the project part of an EventDocument.
type EventDocProject struct {
	ID         string             `json:"id"`
	Kubernetes *ProjectKubernetes `json:"kubernetes,omitempty"`
	Secrets    map[string]string  `json:"secrets"`
}

// EventDocWorker is the worker part of an EventDocument.
type EventDocWorker struct {
	APIAddress           string            `json:"apiAddress"`
	APIToken             string            `json:"apiToken"`
	LogLevel             string            `json:"logLevel"`
	ConfigFilesDirectory string            `json:"configFilesDirectory"`
	DefaultConfigFiles   map[string]string `json:"defaultConfigFiles"`
	Git                  *EventDocGit      `json:"git"`
	// Additions to Brigade's document (scripts never saw them there):
	UseWorkspace bool              `json:"useWorkspace"`
	Environment  map[string]string `json:"environment,omitempty"` // workerTemplate.container.environment
	// ConfigFiles are the event's own files (worker.spec.configFiles): the
	// worker writes them last, over defaults and git.
	ConfigFiles map[string]string `json:"configFiles,omitempty"`
	// JobPolicies tells v1 scripts what their jobs may ask for.
	JobPolicies *JobPolicies `json:"jobPolicies,omitempty"`
	// APICertificate is the PEM certificate the API serves TLS with, when
	// it does: the worker trusts it (docs/hardening.md, "TLS").
	APICertificate string `json:"apiCertificate,omitempty"`
	// SecretsFromAPI says that project.secrets is left out of the file: the
	// worker fetches the values with its token (GET
	// /v2/events/{id}/worker/secrets, docs/api.md), so no secret is written
	// to disk. Scripts still see them in event.project.secrets.
	SecretsFromAPI bool `json:"secretsFromAPI,omitempty"`
}

// EventDocGit says where the worker's source comes from.
type EventDocGit struct {
	CloneURL       string `json:"cloneURL"`
	Commit         string `json:"commit,omitempty"`
	Ref            string `json:"ref,omitempty"`
	InitSubmodules bool   `json:"initSubmodules"`
}

// NewEventDocument builds the document for an event's worker.
func NewEventDocument(ev *Event, namespace string, secrets map[string]string, apiAddress, token string) *EventDocument {
	if secrets == nil {
		secrets = map[string]string{}
	}
	d := &EventDocument{
		ID: ev.Metadata.ID, Source: ev.Source, Type: ev.Type,
		Qualifiers: nilIfEmpty(ev.Qualifiers), Labels: nilIfEmpty(ev.Labels),
		ShortTitle: ev.ShortTitle, LongTitle: ev.LongTitle, Payload: ev.Payload,
		Project: EventDocProject{ID: ev.ProjectID, Secrets: secrets},
	}
	if namespace != "" {
		d.Project.Kubernetes = &ProjectKubernetes{Namespace: namespace}
	}
	if ev.Worker != nil {
		spec := ev.Worker.Spec
		d.Worker = EventDocWorker{
			APIAddress: apiAddress, APIToken: token, LogLevel: spec.LogLevel,
			ConfigFilesDirectory: spec.ConfigFilesDirectory,
			DefaultConfigFiles:   nilIfEmpty(spec.DefaultConfigFiles),
			UseWorkspace:         spec.UseWorkspace,
			ConfigFiles:          nilIfEmpty(spec.ConfigFiles),
			JobPolicies:          &JobPolicies{},
		}
		if spec.JobPolicies != nil {
			jp := *spec.JobPolicies
			d.Worker.JobPolicies = &jp
		}
		if spec.Container != nil {
			d.Worker.Environment = spec.Container.Environment
		}
		if g := spec.Git; g != nil && g.CloneURL != "" {
			d.Worker.Git = &EventDocGit{CloneURL: g.CloneURL, Commit: g.Commit, Ref: g.Ref, InitSubmodules: g.InitSubmodules}
		}
	}
	return d
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
