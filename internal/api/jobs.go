package api

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/seal"
)

func jobEnvAD(eventID, job string) []byte { return seal.JobEnvAD(eventID, job) }

// CreateJob adds a job to an event's worker and queues it (docs/api.md, "Jobs").
// Only that event's worker may call it.
func (s *Service) CreateJob(ctx context.Context, eventID string, job *core.Job) error {
	m, err := s.createJob(ctx, eventID, job)
	if err == nil {
		s.report(&m)
	}
	return err
}

// maxJobBatch bounds how many jobs one CreateJobs call creates.
const maxJobBatch = 256

// CreateJobs creates jobs of the event in their order, in one transaction
// (one commit, one sync): all of them or, when one cannot be created,
// none, with the error CreateJob gives for the first that cannot. Each is
// created as CreateJob creates it.
func (s *Service) CreateJobs(ctx context.Context, eventID string, jobs []*core.Job) error {
	if len(jobs) == 0 || len(jobs) > maxJobBatch {
		return core.NewBadRequest(fmt.Sprintf("send 1 to %d jobs at once, not %d", maxJobBatch, len(jobs)))
	}
	var all []moves
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		all = all[:0]
		for _, job := range jobs {
			m, err := s.createJob(ctx, eventID, job)
			if err != nil {
				return err
			}
			all = append(all, m)
		}
		return nil
	})
	if err == nil {
		for i := range all {
			s.report(&all[i])
		}
	}
	return err
}

// createJob is CreateJob without its metrics, which it returns.
func (s *Service) createJob(ctx context.Context, eventID string, job *core.Job) (moves, error) {
	var m moves
	if _, err := require(ctx, auth.RoleWorker, eventID); err != nil {
		return m, err
	}
	if job.Name == "" {
		return m, core.NewBadRequest("the job needs a name")
	}
	if err := checkJobPaths(job); err != nil { // paths.go
		return m, err
	}
	if err := s.checkJobPolicies(ctx, eventID, job); err != nil {
		return m, err
	}
	// A job without environment variables stores none (most jobs): one
	// statement less in the transaction, nothing to open at its start.
	env := JobEnvironment{}
	for name, c := range containers(job) {
		if len(c.Environment) > 0 {
			env[name] = c.Environment
		}
	}
	var sealedEnv []byte
	if len(env) > 0 {
		var err error
		if sealedEnv, err = s.sealJobEnv(eventID, job.Name, env); err != nil {
			return m, err
		}
	}
	stored := redacted(job)
	stored.Created = timePtr(s.now())
	stored.Status = &core.JobStatus{Phase: core.PhasePending}
	// The transaction reads only the worker's phase (its whole status when
	// it is STARTING, the whole event only when the name is taken), and the
	// queue takes the project from the event.
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		m.reset()
		moved, err := s.workerTakesJobs(ctx, eventID)
		if err != nil {
			return err
		}
		if moved {
			m.worker = core.PhaseRunning
		}
		err = s.store.Jobs().Create(ctx, eventID, stored)
		replaced := false
		if core.IsConflict(err) {
			// The name is taken. A retried event inherits its original's
			// jobs: the same job reuses the result, a changed one runs
			// again.
			existing, gerr := s.store.Jobs().Get(ctx, eventID, job.Name)
			if gerr != nil {
				return gerr
			}
			ev, gerr := s.store.Events().Head(ctx, eventID)
			if gerr != nil {
				return gerr
			}
			if ev.Labels[core.LabelRetryOf] == "" {
				return core.NewConflict("Job", job.Name, fmt.Sprintf(
					"Event %q already has a job named %q. Give each job of an event its own name.", eventID, job.Name))
			}
			if sameJobSpec(&existing.Spec, &job.Spec) {
				return nil // inherited from the retried event: reuse its result
			}
			if existing.Status == nil || existing.Status.LogsEventID == "" {
				return core.NewConflict("Job", job.Name, fmt.Sprintf(
					"Event %q already has a non-inherited job named %q.", eventID, job.Name))
			}
			err, replaced = s.store.Jobs().Replace(ctx, eventID, stored), true
		}
		if err != nil {
			return err
		}
		// A replaced job drops the environment of the one it replaces.
		if len(sealedEnv) > 0 || replaced {
			if err := s.store.Jobs().SetEnvironment(ctx, eventID, job.Name, sealedEnv); err != nil {
				return err
			}
		}
		m.job(core.PhasePending)
		return s.store.Queue().Enqueue(ctx, &core.Task{
			Kind: core.TaskJob, EventID: eventID, JobName: job.Name, Created: s.now(),
		})
	})
	return m, err
}

// checkJobPolicies refuses containers that ask for what the project's
// worker template does not allow. Only a job that asks for any of it costs
// a read of the event.
func (s *Service) checkJobPolicies(ctx context.Context, eventID string, job *core.Job) error {
	asks := false
	for _, c := range containers(job) {
		asks = asks || c.Privileged || c.UseHostDockerSocket || c.WorkspaceMountPath != ""
	}
	if !asks {
		return nil
	}
	ev, err := s.store.Events().Head(ctx, eventID)
	if err != nil {
		return err
	}
	allowPriv := ev.Worker.Spec.JobPolicies != nil && ev.Worker.Spec.JobPolicies.AllowPrivileged
	for name, c := range containers(job) {
		if c.Privileged && !allowPriv {
			return &core.AuthorizationError{Reason: fmt.Sprintf(
				"Worker configuration forbids jobs from utilizing privileged containers. Container %q of job %q asks to be privileged: "+
					"set the project's workerTemplate.jobPolicies.allowPrivileged to true to allow it.", name, job.Name)}
		}
		if c.UseHostDockerSocket && (ev.Worker.Spec.JobPolicies == nil || !ev.Worker.Spec.JobPolicies.AllowDockerSocketMount) {
			return &core.AuthorizationError{Reason: fmt.Sprintf(
				"Worker configuration forbids jobs from mounting the Docker socket. Container %q of job %q asks for it: "+
					"set the project's workerTemplate.jobPolicies.allowDockerSocketMount to true to allow it.", name, job.Name)}
		}
		if c.WorkspaceMountPath != "" && !ev.Worker.Spec.UseWorkspace {
			return &core.ConflictError{Reason: fmt.Sprintf(
				"The job requested access to the shared workspace, but Worker configuration has not enabled this feature. "+
					"Container %q of job %q mounts it: set the project's workerTemplate.useWorkspace to true to allow it.", name, job.Name)}
		}
	}
	return nil
}

// workerTakesJobs checks, inside the transaction that creates a job, that
// the event's worker is running. A worker still STARTING that calls is
// evidently running: it is moved to RUNNING here, so that its first job
// never races the runner's report (moved). Its phase is a column; its
// whole status is read only to move it.
func (s *Service) workerTakesJobs(ctx context.Context, eventID string) (moved bool, err error) {
	phase, err := s.store.Events().WorkerPhase(ctx, eventID)
	if err != nil {
		return false, err
	}
	switch phase {
	case core.PhaseRunning:
		return false, nil
	case core.PhaseStarting:
		st, err := s.store.Events().WorkerStatus(ctx, eventID)
		if err != nil {
			return false, err
		}
		st.Phase = core.PhaseRunning
		if st.Started == nil {
			st.Started = timePtr(s.now())
		}
		return true, s.store.Events().UpdateWorkerStatus(ctx, eventID, core.PhaseStarting, st)
	default:
		return false, core.NewConflict("Event", eventID, fmt.Sprintf(
			"Event %q cannot take new jobs: its worker is %s. Jobs can be created only while the worker is RUNNING.",
			eventID, phase))
	}
}

// containers lists a job's containers by name; the primary is under the
// job's own name.
func containers(job *core.Job) map[string]*core.JobContainerSpec {
	out := map[string]*core.JobContainerSpec{job.Name: &job.Spec.PrimaryContainer}
	for name := range job.Spec.SidecarContainers {
		c := job.Spec.SidecarContainers[name]
		out[name] = &c
	}
	return out
}

// redacted returns a copy of job whose environment values read
// "*** REDACTED ***".
func redacted(job *core.Job) *core.Job {
	j := *job
	j.Spec.PrimaryContainer.Environment = redactEnv(job.Spec.PrimaryContainer.Environment)
	if job.Spec.SidecarContainers != nil {
		j.Spec.SidecarContainers = map[string]core.JobContainerSpec{}
		for name, c := range job.Spec.SidecarContainers {
			c.Environment = redactEnv(c.Environment)
			j.Spec.SidecarContainers[name] = c
		}
	}
	return &j
}

func redactEnv(env map[string]string) map[string]string {
	if env == nil {
		return nil
	}
	out := make(map[string]string, len(env))
	for k := range env {
		out[k] = core.Redacted
	}
	return out
}

// sameJobSpec compares a stored (redacted) spec with a new one, ignoring
// environment values, which the store never keeps in the clear.
func sameJobSpec(stored, fresh *core.JobSpec) bool {
	j := redacted(&core.Job{Spec: *fresh})
	a, _ := json.Marshal(stored)
	b, _ := json.Marshal(&j.Spec)
	if string(a) == string(b) {
		return true
	}
	return reflect.DeepEqual(normalSpec(stored), normalSpec(&j.Spec))
}

func normalSpec(s *core.JobSpec) core.JobSpec {
	n := *s
	if len(n.SidecarContainers) == 0 {
		n.SidecarContainers = nil
	}
	n.PrimaryContainer.Environment = maps.Clone(n.PrimaryContainer.Environment)
	if len(n.PrimaryContainer.Environment) == 0 {
		n.PrimaryContainer.Environment = nil
	}
	return n
}

func (s *Service) sealJobEnv(eventID, job string, env JobEnvironment) ([]byte, error) {
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encoding job environment: %w", err)
	}
	sealed, err := s.sealer.Seal(b, jobEnvAD(eventID, job))
	if err != nil {
		return nil, fmt.Errorf("sealing job environment: %w", err)
	}
	return sealed, nil
}

// jobEnvironment opens the real environment of a job's containers.
func (s *Service) jobEnvironment(ctx context.Context, eventID, job string) (JobEnvironment, error) {
	sealed, err := s.store.Jobs().Environment(ctx, eventID, job)
	if err != nil {
		return nil, err
	}
	env := JobEnvironment{}
	if len(sealed) == 0 {
		return env, nil
	}
	b, err := s.sealer.Open(sealed, jobEnvAD(eventID, job))
	if err != nil {
		return nil, fmt.Errorf("opening environment of job %s: %w", job, err)
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("decoding environment of job %s: %w", job, err)
	}
	return env, nil
}

// StartJob moves a PENDING job to STARTING, if its event's worker is
// RUNNING, and returns what the substrate needs to launch it (with the
// job's real environment); the runner launches it. Over HTTP (an external
// scheduler) only the state changes.
func (s *Service) StartJob(ctx context.Context, eventID, name string) (*core.JobLaunch, error) {
	if _, err := require(ctx, auth.RoleScheduler, ""); err != nil {
		return nil, err
	}
	var job *core.Job
	var env JobEnvironment
	facts, known := s.facts.get(eventID)
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		var w core.WorkerPhase
		var err error
		if known {
			w, err = s.store.Events().WorkerPhase(ctx, eventID)
		} else {
			var ev *core.Event
			if ev, err = s.store.Events().Head(ctx, eventID); err == nil {
				facts, w = factsOf(ev), ev.Worker.Status.Phase
			}
		}
		if err != nil {
			return err
		}
		if job, err = s.store.Jobs().Get(ctx, eventID, name); err != nil {
			return err
		}
		if job.Status == nil || job.Status.Phase != core.PhasePending {
			return core.NewConflict("Job", name, fmt.Sprintf(
				"Event %q job %q has already been started.", eventID, name))
		}
		if w != core.PhaseRunning {
			return core.NewConflict("Job", name, fmt.Sprintf(
				"Event %q job %q cannot be started: the event's worker is %s, not RUNNING.", eventID, name, w))
		}
		if env, err = s.jobEnvironment(ctx, eventID, name); err != nil {
			return err
		}
		st := *job.Status
		st.Phase = core.PhaseStarting
		job.Status = &st
		return s.store.Jobs().UpdateStatus(ctx, eventID, name, core.PhasePending, st)
	})
	if err != nil {
		return nil, err
	}
	s.metrics.JobPhase(core.PhaseStarting)
	if !known {
		s.facts.put(eventID, facts)
	}
	l := &core.JobLaunch{EventID: eventID, Job: job, Environment: env}
	facts.launch(l)
	return l, nil
}

func phaseOf(j *core.Job) core.JobPhase {
	if j.Status == nil {
		return core.PhaseUnknown
	}
	return j.Status.Phase
}

// JobChanges returns two channels: one receives a value after every commit
// that changed the job, the other after every commit that changed its event
// or worker, including the event's deletion (see core.TopicJob).
func (s *Service) JobChanges(eventID, name string) (job, event <-chan struct{}, cancel func()) {
	job, cancelJob := s.store.Subscribe(core.TopicJob(eventID, name))
	event, cancelEvent := s.store.Subscribe(core.TopicWorker(eventID))
	return job, event, func() { cancelJob(); cancelEvent() }
}

// GetJobStatus returns one job's status.
func (s *Service) GetJobStatus(ctx context.Context, eventID, name string) (*core.JobStatus, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, err
	}
	st, err := s.store.Jobs().Status(ctx, eventID, name)
	if err != nil {
		return nil, err
	}
	if st.Phase == "" {
		st.Phase = core.PhaseUnknown
	}
	return &st, nil
}

// UpdateJobStatus replaces a job's status unless it is terminal.
func (s *Service) UpdateJobStatus(ctx context.Context, eventID, name string, st core.JobStatus) error {
	if _, err := require(ctx, auth.RoleObserver, ""); err != nil {
		return err
	}
	var cur core.JobPhase
	err := retryCAS(func() error {
		old, err := s.store.Jobs().Status(ctx, eventID, name)
		if err != nil {
			return err
		}
		cur = old.Phase
		if cur.IsTerminal() {
			return core.NewConflict("Job", name, fmt.Sprintf(
				"Event %q job %q has already reached a terminal phase.", eventID, name))
		}
		if st.LogsEventID == "" {
			st.LogsEventID = old.LogsEventID
		}
		return lostRace(s.store.Jobs().UpdateStatus(ctx, eventID, name, cur, st))
	})
	if err == nil && cur != st.Phase { // a repeated report moves nothing
		s.metrics.JobPhase(st.Phase)
	}
	return err
}

// CleanupJob checks that the job exists. A job's substrate resources are
// removed with its event's (see CleanupWorker): the runner stops a job's
// workload as soon as the job is terminal.
func (s *Service) CleanupJob(ctx context.Context, eventID, name string) error {
	if _, err := require(ctx, auth.RoleObserver, ""); err != nil {
		return err
	}
	_, err := s.store.Jobs().Get(ctx, eventID, name)
	return err
}

// TimeoutJob marks an unfinished job TIMED_OUT; the runner stops its
// workload.
func (s *Service) TimeoutJob(ctx context.Context, eventID, name string) error {
	if _, err := require(ctx, auth.RoleObserver, ""); err != nil {
		return err
	}
	err := retryCAS(func() error {
		st, err := s.store.Jobs().Status(ctx, eventID, name)
		if err != nil {
			return err
		}
		cur := st.Phase
		if cur.IsTerminal() {
			return core.NewConflict("Job", name, fmt.Sprintf(
				"Event %q job %q has already reached a terminal phase.", eventID, name))
		}
		st.Phase = core.PhaseTimedOut
		st.Ended = timePtr(s.now())
		return lostRace(s.store.Jobs().UpdateStatus(ctx, eventID, name, cur, st))
	})
	if err == nil {
		s.metrics.JobPhase(core.PhaseTimedOut)
	}
	return err
}

// imagePullSecrets are a worker spec's kubernetes.imagePullSecrets.
func imagePullSecrets(spec *core.WorkerSpec) []string {
	if spec.Kubernetes == nil {
		return nil
	}
	return slices.Clone(spec.Kubernetes.ImagePullSecrets)
}
