package httpapi

import (
	"context"
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
