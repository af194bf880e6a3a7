package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/schema"
)

// action answers a body-less operation with 200 null.
func (h *handler) action(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context) error) {
	if err := fn(r.Context()); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}

func (h *handler) startWorker(w http.ResponseWriter, r *http.Request) {
	h.action(w, r, func(ctx context.Context) error {
		_, err := h.svc.StartWorker(ctx, r.PathValue("id"))
		return err
	})
}

func (h *handler) cleanupWorker(w http.ResponseWriter, r *http.Request) {
	h.action(w, r, func(ctx context.Context) error { return h.svc.CleanupWorker(ctx, r.PathValue("id")) })
}

func (h *handler) timeoutWorker(w http.ResponseWriter, r *http.Request) {
	h.action(w, r, func(ctx context.Context) error { return h.svc.TimeoutWorker(ctx, r.PathValue("id")) })
}

// workerSecrets answers the event's worker with its project's secrets.
func (h *handler) workerSecrets(w http.ResponseWriter, r *http.Request) {
	secrets, err := h.svc.WorkerSecrets(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "WorkerSecrets", struct {
		Secrets map[string]string `json:"secrets"`
	}{secrets})
}

func (h *handler) workerStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sub := func() (<-chan struct{}, <-chan struct{}, func()) {
		ch, cancel := h.svc.WorkerChanges(id)
		return ch, nil, cancel
	}
	h.status(w, r, sub, func(ctx context.Context) (any, core.WorkerPhase, error) {
		st, err := h.svc.GetWorkerStatus(ctx, id)
		if err != nil {
			return nil, "", err
		}
		return st, st.Phase, nil
	})
}

// status answers a status GET: the status itself, or with watch=true a
// stream of it until a terminal phase.
func (h *handler) status(w http.ResponseWriter, r *http.Request, sub subscribe,
	get func(ctx context.Context) (any, core.WorkerPhase, error)) {
	if queryBool(r, "watch") {
		h.watch(w, r, 0, sub, get)
		return
	}
	st, _, err := get(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writePlain(w, r, http.StatusOK, st)
}

func (h *handler) updateWorkerStatus(w http.ResponseWriter, r *http.Request) {
	var st core.WorkerStatus
	if err := h.decode(r, schema.WorkerStatus, &st); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.action(w, r, func(ctx context.Context) error { return h.svc.UpdateWorkerStatus(ctx, r.PathValue("id"), st) })
}

func (h *handler) createJob(w http.ResponseWriter, r *http.Request) {
	if queryBool(r, "batch") {
		h.createJobs(w, r)
		return
	}
	var job core.Job
	if err := h.decode(r, schema.Job, &job); err != nil {
		h.writeError(w, r, err)
		return
	}
	job.Created = nil
	job.Status = nil
	id := r.PathValue("id")
	noteObjects(r.Context(), "events/"+id+"/worker/jobs/"+job.Name)
	if err := h.svc.CreateJob(r.Context(), id, &job); err != nil {
		h.writeError(w, r, err)
		return
	}
	if queryBool(r, "watch") {
		// An addition (docs/api.md): the new job's status stream, as
		// GET …/jobs/{job}/status?watch=true sends it, in the same answer.
		h.watch(w, r, http.StatusCreated, h.jobChanges(id, job.Name), h.jobStatusOf(id, job.Name))
		return
	}
	writeNull(w, http.StatusCreated)
}

// createJobs creates several jobs of an event in one request, in their
// order, all or none (?batch=true with a JobList: an addition, docs/api.md
// "Creating several jobs at once").
func (h *handler) createJobs(w http.ResponseWriter, r *http.Request) {
	b, err := h.readBody(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	jobs, err := decodeJobList(b)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	for _, job := range jobs {
		noteObjects(r.Context(), "events/"+id+"/worker/jobs/"+job.Name)
	}
	if err := h.svc.CreateJobs(r.Context(), id, jobs); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusCreated)
}

// decodeJobList reads a JobList body: {"apiVersion": "brigade.sh/v2",
// "kind": "JobList", "items": [<Job>, ...]}, each item checked as the body
// of a single job's creation.
func decodeJobList(b []byte) ([]*core.Job, error) {
	var list struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []json.RawMessage `json:"items"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, core.NewBadRequest(schema.ReasonMalformed,
			`with batch=true, send a JobList: {"apiVersion": "brigade.sh/v2", "kind": "JobList", "items": [<Job>, ...]} (`+err.Error()+")")
	}
	if list.APIVersion != core.APIVersion || list.Kind != "JobList" {
		return nil, core.NewBadRequest("with batch=true, send a JobList",
			fmt.Sprintf(`apiVersion must be %q and kind "JobList", not %q and %q`, core.APIVersion, list.APIVersion, list.Kind))
	}
	jobs := make([]*core.Job, len(list.Items))
	for i, item := range list.Items {
		var job core.Job
		if err := decodeBody(item, schema.Job, &job); err != nil {
			var bad *core.BadRequestError
			if errors.As(err, &bad) {
				var details []string
				for _, d := range bad.Details {
					details = append(details, fmt.Sprintf("items[%d]: %s", i, d))
				}
				if details == nil {
					details = []string{fmt.Sprintf("items[%d]", i)}
				}
				return nil, core.NewBadRequest(bad.Reason, details...)
			}
			return nil, err
		}
		job.Created, job.Status = nil, nil
		jobs[i] = &job
	}
	return jobs, nil
}

func (h *handler) startJob(w http.ResponseWriter, r *http.Request) {
	h.action(w, r, func(ctx context.Context) error {
		_, err := h.svc.StartJob(ctx, r.PathValue("id"), r.PathValue("job"))
		return err
	})
}

func (h *handler) cleanupJob(w http.ResponseWriter, r *http.Request) {
	h.action(w, r, func(ctx context.Context) error {
		return h.svc.CleanupJob(ctx, r.PathValue("id"), r.PathValue("job"))
	})
}

func (h *handler) timeoutJob(w http.ResponseWriter, r *http.Request) {
	h.action(w, r, func(ctx context.Context) error {
		return h.svc.TimeoutJob(ctx, r.PathValue("id"), r.PathValue("job"))
	})
}

func (h *handler) jobStatus(w http.ResponseWriter, r *http.Request) {
	id, name := r.PathValue("id"), r.PathValue("job")
	h.status(w, r, h.jobChanges(id, name), h.jobStatusOf(id, name))
}

func (h *handler) jobChanges(id, name string) subscribe {
	return func() (<-chan struct{}, <-chan struct{}, func()) { return h.svc.JobChanges(id, name) }
}

func (h *handler) jobStatusOf(id, name string) func(ctx context.Context) (any, core.WorkerPhase, error) {
	return func(ctx context.Context) (any, core.WorkerPhase, error) {
		st, err := h.svc.GetJobStatus(ctx, id, name)
		if err != nil {
			return nil, "", err
		}
		return st, st.Phase, nil
	}
}

func (h *handler) updateJobStatus(w http.ResponseWriter, r *http.Request) {
	var st core.JobStatus
	if err := h.decode(r, schema.JobStatus, &st); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.action(w, r, func(ctx context.Context) error {
		return h.svc.UpdateJobStatus(ctx, r.PathValue("id"), r.PathValue("job"), st)
	})
}

func (h *handler) runningWorkers(w http.ResponseWriter, r *http.Request) {
	n, err := h.svc.RunningWorkers(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "SubstrateWorkerCount", struct {
		Count int `json:"count"`
	}{n})
}

func (h *handler) runningJobs(w http.ResponseWriter, r *http.Request) {
	n, err := h.svc.RunningJobs(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "SubstrateJobCount", struct {
		Count int `json:"count"`
	}{n})
}
