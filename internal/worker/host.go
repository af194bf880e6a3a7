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
	// rc rides out a lost API connection (nil: calls are made once).
	rc *reconnect

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

var (
	_ js.Host       = (*host)(nil)
	_ js.JobBatcher = (*host)(nil)
)

// CreateJob posts the job and keeps its status stream, which the same
// answer carries, for WaitJob (one request per job instead of two). Errors
// are worded the way Brigade's JS SDK worded them, since scripts (and
// people) read them in the worker log.
//
// A post that fails for want of the server is made again (see reconnect).
// Its answer may have been lost after the job was created: a later try
// that finds the job exists (409) then looks it up, and follows it as
// created, rather than fail the script over its own job.
//
// Without phases, the stream carries the terminal status alone: the job's
// other phases are then neither sent nor read.
func (h *host) CreateJob(ctx context.Context, job core.Job, phases bool) error {
	return h.createJob(ctx, job, phases, false)
}

// createJob is CreateJob; lost says that an earlier request may have
// created the job already.
func (h *host) createJob(ctx context.Context, job core.Job, phases, lost bool) error {
	o := &outage{rc: h.reconnect(), what: "creating job " + job.Name}
	for {
		vals, errs, err := h.api.CreateJobAndWatch(ctx, h.eventID, &job, !phases)
		if err == nil {
			o.ok()
			h.keepWatch(job.Name, jobWatch{vals: vals, errs: errs})
			return nil
		}
		if lost && core.IsConflict(err) {
			if _, gerr := h.api.GetJobStatus(ctx, h.eventID, job.Name); gerr == nil {
				o.ok()
				return nil // created by the try whose answer was lost; WaitJob watches it
			}
		}
		if err := o.failed(ctx, err); err != nil {
			return sdkError(err)
		}
		lost = true
	}
}

// CreateJobs creates the script's jobs of one batch in one request, all or
// none (js.JobBatcher), and starts following each, as CreateJob's answer
// does, for WaitJob (the end alone without phases). When the request fails,
// each job is created on its own, in order, as CreateJob creates it, so
// that each gets its own outcome: after an answer (nothing was created),
// as if for the first time; after a failure that may have come after the
// server created them, as a retry that finds its job there.
func (h *host) CreateJobs(ctx context.Context, jobs []js.JobToCreate) []error {
	list := make([]core.Job, len(jobs))
	for i := range jobs {
		list[i] = jobs[i].Job
	}
	errs := make([]error, len(jobs))
	err := h.api.CreateJobs(ctx, h.eventID, list)
	if err == nil {
		for _, j := range jobs {
			var w jobWatch
			if j.Phases {
				w.vals, w.errs = h.api.WatchJobStatus(ctx, h.eventID, j.Job.Name)
			} else {
				w.vals, w.errs = h.api.WatchJobEnd(ctx, h.eventID, j.Job.Name)
			}
			h.keepWatch(j.Job.Name, w)
		}
		return errs
	}
	if ctx.Err() != nil {
		for i := range errs {
			errs[i] = sdkError(err)
		}
		return errs
	}
	lost := transient(err)
	for i, j := range jobs {
		errs[i] = h.createJob(ctx, j.Job, j.Phases, lost)
	}
	return errs
}

func (h *host) keepWatch(name string, w jobWatch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watches == nil {
		h.watches = map[string]jobWatch{}
	}
	h.watches[name] = w
}

// reconnect is the host's policy for lost connections; a host without one
// makes each call once.
func (h *host) reconnect() *reconnect {
	if h.rc != nil {
		return h.rc
	}
	return &reconnect{}
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
// stream sends changes as they are committed: no 2-second ticks. A stream
// cut short (the server restarted, the connection dropped) is watched
// again, after a back-off while the server cannot be reached; a new watch
// starts with the job's current status, so no ending is missed.
func (h *host) WaitJob(ctx context.Context, name string, phase func(core.JobPhase)) (core.JobPhase, error) {
	h.mu.Lock()
	w, ok := h.watches[name]
	delete(h.watches, name)
	h.mu.Unlock()
	vals, errs := w.vals, w.errs
	if !ok {
		vals, errs = h.api.WatchJobStatus(ctx, h.eventID, name)
	}
	o := &outage{rc: h.reconnect(), what: "following job " + name}
	var last core.JobPhase
	for {
		for st := range vals {
			o.ok()
			if st.Phase != last && phase != nil {
				phase(st.Phase)
			}
			last = st.Phase
			if st.Phase.IsTerminal() {
				break
			}
		}
		if last.IsTerminal() {
			// Drain: the stream ends by itself after a terminal phase.
			for range vals {
			}
			return last, nil
		}
		err := <-errs
		if err == nil {
			return last, nil
		}
		if err := o.failed(ctx, err); err != nil {
			return last, sdkError(err)
		}
		vals, errs = h.api.WatchJobStatus(ctx, h.eventID, name)
	}
}

// JobLogs reads the primary container's log as "<time>: <message>" lines:
// what the job wrote, without the lines the substrate adds about it
// ("[brigade] ..."), which were never part of a container's own log.
// A read that fails for want of the server is read again from the start.
func (h *host) JobLogs(ctx context.Context, name string) (string, error) {
	var lines []string
	err := h.reconnect().do(ctx, "reading the logs of job "+name, func() error {
		lines = lines[:0]
		vals, errs := h.api.Logs(ctx, h.eventID, client.LogOptions{Job: name})
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
		return <-errs
	})
	if err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}

// SetSummary replaces the summary, again if the server could not be
// reached (a PUT: the same twice is once).
func (h *host) SetSummary(ctx context.Context, text string) error {
	return h.reconnect().do(ctx, "setting the event's summary", func() error {
		return h.api.UpdateSummary(ctx, h.eventID, text)
	})
}
