package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// authorizeEventCreate applies docs/api.md "Roles and principals": PROJECT_USER on the named
// project, or EVENT_CREATOR for the event's source.
func authorizeEventCreate(ctx context.Context, ev *core.Event) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	if ev.ProjectID != "" && p.HasProjectRole(ev.ProjectID, auth.RoleProjectUser) {
		return nil
	}
	if p.HasRole(auth.RoleEventCreator, ev.Source) {
		return nil
	}
	if ev.ProjectID != "" {
		return &core.AuthorizationError{Reason: fmt.Sprintf(
			"creating events needs the PROJECT_USER role on project %q or the EVENT_CREATOR role for source %q", ev.ProjectID, ev.Source)}
	}
	return forbidden(auth.RoleEventCreator, ev.Source)
}

// Subscribes reports whether a project subscribes to an event (docs/api.md,
// "Creating events and subscriptions"):
// any subscription with the same source, a matching type (or "*"),
// exactly equal qualifiers, and labels that are a subset of the event's.
func Subscribes(p *core.Project, ev *core.Event) bool {
	for _, sub := range p.Spec.EventSubscriptions {
		if sub.Source != ev.Source {
			continue
		}
		if !slices.Contains(sub.Types, ev.Type) && !slices.Contains(sub.Types, "*") {
			continue
		}
		if !maps.Equal(emptyIfNil(sub.Qualifiers), emptyIfNil(ev.Qualifiers)) {
			continue
		}
		ok := true
		for k, v := range sub.Labels {
			if ev.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func emptyIfNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// CreateEvent fans an event out to every subscribed project and stores each
// copy together with its queue entry in one transaction. It returns only
// after that transaction committed.
func (s *Service) CreateEvent(ctx context.Context, ev *core.Event) ([]core.Event, error) {
	created, _, err := s.CreateEventOnce(ctx, ev, "")
	return created, err
}

// MaxDeliveryKeyLength bounds a delivery key (see CreateEventOnce).
const MaxDeliveryKeyLength = 255

// CreateEventOnce is CreateEvent for a keyed delivery (docs/api.md,
// "Idempotent event creation"): the first call with a key unique within
// the event's source creates the events and remembers them under the key,
// in the same transaction; any later call with the same source and key
// creates nothing and returns the events the first one created (those not
// deleted since), with replayed true. An empty key is CreateEvent.
func (s *Service) CreateEventOnce(ctx context.Context, ev *core.Event, key string) (created []core.Event, replayed bool, err error) {
	if err := authorizeEventCreate(ctx, ev); err != nil {
		return nil, false, err
	}
	if err := checkDeliveryKey(key); err != nil {
		return nil, false, err
	}
	var firstIDs []string
	created, err = s.fanOut(ctx, ev, nil, &delivery{key: key, known: &firstIDs, replayed: &replayed})
	if err != nil || !replayed {
		return created, replayed, err
	}
	first := make([]core.Event, 0, len(firstIDs))
	for _, id := range firstIDs {
		e, err := s.store.Events().Get(ctx, id)
		var nf *core.NotFoundError
		if errors.As(err, &nf) {
			continue // deleted since
		}
		if err != nil {
			return nil, true, err
		}
		first = append(first, *e)
	}
	return first, true, nil
}

func checkDeliveryKey(key string) error {
	if len(key) > MaxDeliveryKeyLength {
		return &core.BadRequestError{Reason: fmt.Sprintf(
			"The idempotency key is %d bytes long; it can be at most %d.", len(key), MaxDeliveryKeyLength)}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return &core.BadRequestError{Reason: "The idempotency key must not contain control characters."}
		}
	}
	return nil
}

// delivery is a keyed creation under way: fanOut looks the key up in its
// transaction and either records the new events under it or reports the
// ones recorded before.
type delivery struct {
	key      string
	known    *[]string
	replayed *bool
}

// fanOut creates one event per subscribed project. A non-nil retryOf is the
// original event of a retry: its worker spec and inherited jobs are reused.
// A non-empty d.key makes it a keyed delivery (see CreateEventOnce).
func (s *Service) fanOut(ctx context.Context, ev *core.Event, retryOf *core.Event, d *delivery) ([]core.Event, error) {
	if err := checkEventConfigFiles(ctx, ev); err != nil { // exec.go
		return nil, err
	}
	var projects []core.Project
	if ev.ProjectID != "" {
		p, err := s.store.Projects().Get(ctx, ev.ProjectID)
		if err != nil {
			return nil, err
		}
		if Subscribes(p, ev) {
			projects = []core.Project{*p}
		}
	} else {
		var err error
		projects, err = s.store.Projects().Matching(ctx, func(p *core.Project) bool { return Subscribes(p, ev) })
		if err != nil {
			return nil, fmt.Errorf("reading projects to match subscriptions: %w", err)
		}
	}
	now := s.now()
	created := make([]core.Event, 0, len(projects))
	for _, p := range projects {
		e := *ev
		e.Metadata = core.ObjectMeta{ID: newEventID(), Created: &now}
		e.ProjectID = p.Metadata.ID
		e.Summary = ""
		e.ConfigFiles = nil // they live in e.Worker.Spec.ConfigFiles
		e.Worker = buildWorker(&p, ev, retryOf)
		created = append(created, e)
	}
	keyed := d != nil && d.key != ""
	if len(created) == 0 && !keyed {
		return created, nil
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		if keyed {
			ids, known, err := s.store.Deliveries().Lookup(ctx, ev.Source, d.key)
			if err != nil {
				return err
			}
			if known {
				*d.known, *d.replayed = ids, true
				return nil
			}
			ids = make([]string, len(created))
			for i := range created {
				ids[i] = created[i].Metadata.ID
			}
			if err := s.store.Deliveries().Record(ctx, ev.Source, d.key, ids, now); err != nil {
				return err
			}
		}
		for i := range created {
			e := &created[i]
			jobs := e.Worker.Jobs
			e.Worker.Jobs = nil
			if err := s.store.Events().Create(ctx, e); err != nil {
				return err
			}
			for j := range jobs {
				if err := s.store.Jobs().Create(ctx, e.Metadata.ID, &jobs[j]); err != nil {
					return err
				}
			}
			e.Worker.Jobs = jobs
			if err := s.store.Queue().Enqueue(ctx, &core.Task{
				Kind: core.TaskWorker, ProjectID: e.ProjectID, EventID: e.Metadata.ID, Created: now,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storing event: %w", err)
	}
	if keyed && *d.replayed {
		return nil, nil
	}
	if len(created) > 0 {
		s.metrics.EventsAccepted(ev.Source, len(created))
		for range created {
			s.metrics.WorkerPhase(core.PhasePending)
		}
	}
	for _, e := range created {
		s.log.Debug("event created", "event", e.Metadata.ID, "project", e.ProjectID,
			"source", sanitizeForLog(e.Source), "type", sanitizeForLog(e.Type))
	}
	return created, nil
}

// newEventID returns a UUID for a new event: version 7, whose leading
// bits are the time, so that new events go to the end of the indexes keyed
// by event id instead of to random pages (which doubled the pages each
// commit writes). Any UUID is a valid event id.
func newEventID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// buildWorker derives the worker of a new event (docs/api.md, "The worker of
// a new event").
func buildWorker(p *core.Project, ev *core.Event, retryOf *core.Event) *core.Worker {
	var spec core.WorkerSpec
	var jobs []core.Job
	if retryOf != nil && retryOf.Worker != nil {
		spec = cloneWorkerSpec(retryOf.Worker.Spec)
		for _, j := range retryOf.Worker.Jobs {
			if j.Status == nil || j.Status.Phase != core.PhaseSucceeded || usesWorkspace(&j) {
				continue
			}
			st := *j.Status
			if st.LogsEventID == "" {
				st.LogsEventID = retryOf.Metadata.ID
			}
			j.Status = &st
			jobs = append(jobs, j)
		}
	} else {
		spec = cloneWorkerSpec(p.Spec.WorkerTemplate)
		spec.ConfigFiles = nil // an event's own, never a project's
	}
	applyEventConfigFiles(&spec, ev) // exec.go
	if spec.WorkspaceSize == "" {
		spec.WorkspaceSize = core.DefaultWorkspaceSize
	}
	if ev.Git != nil && (ev.Git.CloneURL != "" || ev.Git.Commit != "" || ev.Git.Ref != "") {
		if spec.Git == nil {
			spec.Git = &core.GitConfig{}
		}
		if ev.Git.CloneURL != "" {
			spec.Git.CloneURL = ev.Git.CloneURL
		}
		if ev.Git.Commit != "" {
			spec.Git.Commit = ev.Git.Commit
		}
		if ev.Git.Ref != "" {
			spec.Git.Ref = ev.Git.Ref
		}
	}
	if spec.LogLevel == "" {
		spec.LogLevel = core.DefaultLogLevel
	}
	if spec.ConfigFilesDirectory == "" {
		spec.ConfigFilesDirectory = core.DefaultConfigFilesDirectory
	}
	return &core.Worker{Spec: spec, Status: core.WorkerStatus{Phase: core.PhasePending}, Jobs: jobs}
}

// cloneWorkerSpec copies the pointer fields so that events never share
// them with their project.
func cloneWorkerSpec(w core.WorkerSpec) core.WorkerSpec {
	if w.Git != nil {
		g := *w.Git
		w.Git = &g
	}
	if w.Container != nil {
		c := *w.Container
		w.Container = &c
	}
	w.ConfigFiles = maps.Clone(w.ConfigFiles)
	return w
}

func usesWorkspace(j *core.Job) bool {
	if j.Spec.PrimaryContainer.WorkspaceMountPath != "" {
		return true
	}
	for _, c := range j.Spec.SidecarContainers {
		if c.WorkspaceMountPath != "" {
			return true
		}
	}
	return false
}

// GetEvent returns one event with its worker and jobs.
func (s *Service) GetEvent(ctx context.Context, id string) (*core.Event, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, err
	}
	return s.store.Events().Get(ctx, id)
}

// ListEvents pages through events, newest first.
func (s *Service) ListEvents(ctx context.Context, sel core.EventSelector, opts core.ListOptions) ([]core.Event, core.ListMeta, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, core.ListMeta{}, err
	}
	return s.store.Events().List(ctx, sel, opts)
}

// CloneEvent creates a new event from an old one's data, with a worker
// built from the project's current template.
func (s *Service) CloneEvent(ctx context.Context, id string) (*core.Event, error) {
	orig, err := s.store.Events().Get(ctx, id)
	if err != nil {
		return nil, err
	}
	ev := copyForRecreate(orig, core.LabelCloneOf)
	if err := authorizeEventCreate(ctx, ev); err != nil {
		return nil, err
	}
	return s.recreate(ctx, ev, nil, "cloned")
}

// RetryEvent re-runs a finished event with its original worker spec; jobs
// that succeeded without a shared workspace are inherited.
func (s *Service) RetryEvent(ctx context.Context, id string) (*core.Event, error) {
	orig, err := s.store.Events().Get(ctx, id)
	if err != nil {
		return nil, err
	}
	ev := copyForRecreate(orig, core.LabelRetryOf)
	if err := authorizeEventCreate(ctx, ev); err != nil {
		return nil, err
	}
	if !orig.Worker.Status.Phase.IsTerminal() {
		return nil, core.NewConflict("Event", id, fmt.Sprintf(
			"Event worker phase %q is non-terminal and may not yet be retried. Wait for it to finish, or cancel event %q first.",
			orig.Worker.Status.Phase, id))
	}
	return s.recreate(ctx, ev, orig, "retried")
}

func copyForRecreate(orig *core.Event, label string) *core.Event {
	ev := *orig
	ev.Metadata = core.ObjectMeta{}
	ev.Worker = nil
	ev.Summary = ""
	ev.ConfigFiles = eventConfigFiles(orig) // exec.go: a clone runs the same files
	ev.Labels = maps.Clone(orig.Labels)
	if ev.Labels == nil {
		ev.Labels = map[string]string{}
	}
	ev.Labels[label] = orig.Metadata.ID
	return &ev
}

func (s *Service) recreate(ctx context.Context, ev *core.Event, retryOf *core.Event, what string) (*core.Event, error) {
	created, err := s.fanOut(ctx, ev, retryOf, nil)
	if err != nil {
		return nil, err
	}
	if len(created) == 0 {
		return nil, core.NewConflict("Event", ev.Labels[core.LabelCloneOf]+ev.Labels[core.LabelRetryOf], fmt.Sprintf(
			"The event cannot be %s: project %q no longer subscribes to source %q type %q.", what, ev.ProjectID, ev.Source, ev.Type))
	}
	return &created[0], nil
}

// UpdateSourceState replaces an event's gateway-private state.
func (s *Service) UpdateSourceState(ctx context.Context, id string, st *core.SourceState) error {
	ev, err := s.store.Events().Head(ctx, id)
	if err != nil {
		return err
	}
	if _, err := require(ctx, auth.RoleEventCreator, ev.Source); err != nil {
		return err
	}
	return s.store.Events().SetSourceState(ctx, id, st)
}

// UpdateSummary records the worker's summary of its event.
func (s *Service) UpdateSummary(ctx context.Context, id, text string) error {
	if _, err := require(ctx, auth.RoleWorker, id); err != nil {
		return err
	}
	return s.store.Events().SetSummary(ctx, id, text)
}
