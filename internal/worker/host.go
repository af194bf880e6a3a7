package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/js"
)

// host serves a script's jobs and summary through the API.
type host struct {
	api     *client.Client
	eventID string

	mu sync.Mutex
	// watches are the status streams of created jobs that WaitJob has not
	// taken yet, by job name.
	watches map[string]jobWatch
}

// jobWatch is a job's status stream.
type jobWatch struct {
	vals <-chan core.JobStatus
	errs <-chan error
}

var _ js.Host = (*host)(nil)

// CreateJob posts the job and keeps its status stream, which the same
// answer carries, for WaitJob (one request per job instead of two). Errors
// are worded the way Brigade's JS SDK worded them, since scripts (and
// people) read them in the worker log.
func (h *host) CreateJob(ctx context.Context, job core.Job) error {
	vals, errs, err := h.api.CreateJobAndWatch(ctx, h.eventID, &job)
	if err != nil {
		return sdkError(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watches == nil {
		h.watches = map[string]jobWatch{}
	}
	h.watches[job.Name] = jobWatch{vals: vals, errs: errs}
	return nil
}

func sdkError(err error) error {
	var (
		bad      *core.BadRequestError
		conflict *core.ConflictError
		notFound *core.NotFoundError
		authz    *core.AuthorizationError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &bad):
		msg := "Bad request: " + bad.Reason
		for i, d := range bad.Details {
			msg += fmt.Sprintf("\n  %d. %s", i+1, d)
		}
		return errors.New(msg)
	case errors.As(err, &conflict):
		return errors.New(conflict.Error())
	case errors.As(err, &notFound):
		return fmt.Errorf("%s %q not found.", notFound.Type, notFound.ID)
	case errors.As(err, &authz):
		return errors.New("The request is not authorized: " + authz.Reason)
	}
	return err
}

// WaitJob follows the job's status stream until a terminal phase. The
// stream sends changes as they are committed: no 2-second ticks.
func (h *host) WaitJob(ctx context.Context, name string, phase func(core.JobPhase)) (core.JobPhase, error) {
	h.mu.Lock()
	w, ok := h.watches[name]
	delete(h.watches, name)
	h.mu.Unlock()
	vals, errs := w.vals, w.errs
	if !ok {
		vals, errs = h.api.WatchJobStatus(ctx, h.eventID, name)
	}
	var last core.JobPhase
	for st := range vals {
		last = st.Phase
		if phase != nil {
			phase(st.Phase)
		}
		if st.Phase.IsTerminal() {
			break
		}
	}
	if last.IsTerminal() {
		return last, nil
	}
	if err := <-errs; err != nil {
		return last, sdkError(err)
	}
	return last, nil
}

// JobLogs reads the primary container's log as "<time>: <message>" lines:
// what the job wrote, without the lines the substrate adds about it
// ("[brigade] ..."), which were never part of a container's own log.
func (h *host) JobLogs(ctx context.Context, name string) (string, error) {
	vals, errs := h.api.Logs(ctx, h.eventID, client.LogOptions{Job: name})
	var lines []string
	for e := range vals {
		if strings.HasPrefix(e.Message, "[brigade] ") {
			continue
		}
		if e.Time != nil {
			lines = append(lines, e.Time.UTC().Format(time.RFC3339Nano)+": "+e.Message)
		} else {
			lines = append(lines, e.Message)
		}
	}
	if err := <-errs; err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}

func (h *host) SetSummary(ctx context.Context, text string) error {
	return h.api.UpdateSummary(ctx, h.eventID, text)
}
