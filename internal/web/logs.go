package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/auth"
)

// pageLines is how many lines a logs page shows; the download has all.
const (
	pageLines = 5000
	logBatch  = 500
)

type logsView struct {
	EventID, ProjectID, Job, Container, Query string
	Lines                                     []string
	Total                                     int   // lines read (before the search)
	After                                     int64 // last line's position, where the live stream resumes
	Truncated                                 bool
	Live                                      string // the live stream, while the writer may write more
	Download                                  string
	Jobs                                      []string
}

// logName is what a logs page is about: a job's name, or "worker".
func (v *logsView) Name() string {
	if v.Job == "" {
		return "worker"
	}
	return v.Job
}

func (d *Dashboard) logsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	ctx := r.Context()
	id, q := r.PathValue("id"), r.URL.Query()
	job, query := q.Get("job"), q.Get("q")
	ev, err := d.svc.GetEvent(ctx, id)
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	target, err := d.svc.ResolveLogs(ctx, id, job, q.Get("container"))
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	v := &logsView{EventID: id, ProjectID: ev.ProjectID, Job: job, Container: target.Stream.Container, Query: query}
	if ev.Worker != nil {
		for _, j := range ev.Worker.Jobs {
			v.Jobs = append(v.Jobs, j.Name)
		}
	}
	finished, err := logsFinished(ctx, target)
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	needle := strings.ToLower(query)
	for v.Total < pageLines {
		entries, err := target.Read(ctx, v.After, logBatch)
		if err != nil {
			d.fail(w, r, p, err)
			return
		}
		for _, e := range entries {
			v.Total++
			v.After = e.Seq
			if needle == "" || strings.Contains(strings.ToLower(e.Message), needle) {
				v.Lines = append(v.Lines, e.Message)
			}
		}
		if len(entries) < logBatch {
			break
		}
	}
	v.Truncated = v.Total >= pageLines
	dl := "/events/" + id + "/logs.txt?job=" + urlQuery(job)
	if target.Stream.Container != job && !(job == "" && target.Stream.Container == api.ContainerWorker) {
		dl += "&container=" + urlQuery(target.Stream.Container)
	}
	v.Download = dl
	if !finished && !v.Truncated {
		v.Live = fmt.Sprintf("/events/%s/logs/live?job=%s&container=%s&after=%d", id, urlQuery(job),
			urlQuery(target.Stream.Container), v.After)
	}
	d.render(w, http.StatusOK, "logs", view{Title: "Logs of " + v.Name(), Who: who(p), CSRF: csrfOf(r),
		Crumbs: []crumb{{"Projects", "/"}, {ev.ProjectID, "/projects/" + ev.ProjectID}, {id, "/events/" + id}}, Data: v})
}

// logsDownload sends the whole log as a text file.
func (d *Dashboard) logsDownload(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	ctx := r.Context()
	id, q := r.PathValue("id"), r.URL.Query()
	target, err := d.svc.ResolveLogs(ctx, id, q.Get("job"), q.Get("container"))
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	name := q.Get("job")
	if name == "" {
		name = target.Stream.Container
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.log"`, id, name))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	var after int64
	for {
		entries, err := target.Read(ctx, after, logBatch)
		if err != nil {
			d.log.Warn("reading logs for a download", "event", id, "error", err)
			return // the body is under way: cut it short
		}
		for _, e := range entries {
			if _, err := w.Write([]byte(e.Message + "\n")); err != nil {
				return
			}
			after = e.Seq
		}
		if len(entries) < logBatch {
			return
		}
	}
}

// logsLive streams the lines after a position as server-sent events, each
// message a JSON array of lines with the last one's position as its id
// (so a reconnecting browser resumes where it was), and "done" once the
// writer is finished.
func (d *Dashboard) logsLive(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	ctx := r.Context()
	id, q := r.PathValue("id"), r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	if last, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err == nil && last > after {
		after = last
	}
	if after < 0 {
		after = 0
	}
	target, err := d.svc.ResolveLogs(ctx, id, q.Get("job"), q.Get("container"))
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	events, cancelEvents := d.svc.Changes(id)
	defer cancelEvents()
	lines, cancelLines := d.svc.LogChanges(target.Stream.EventID)
	defer cancelLines()
	sse := newSSE(w)
	for {
		finished, err := logsFinished(ctx, target)
		if err != nil {
			return
		}
		for {
			entries, err := target.Read(ctx, after, logBatch)
			if err != nil {
				return
			}
			if len(entries) > 0 {
				msgs := make([]string, len(entries))
				for i, e := range entries {
					msgs[i] = e.Message
				}
				b, _ := json.Marshal(msgs)
				after = entries[len(entries)-1].Seq
				if err := sse.send("lines", string(b), after); err != nil {
					return
				}
			}
			if len(entries) < logBatch {
				break
			}
		}
		if finished {
			sse.send("done", "done", after)
			return
		}
		select {
		case <-lines:
		case <-events:
		case <-ctx.Done():
			return
		}
		// Let a burst of lines gather into one message.
		if !pause(ctx, 200*time.Millisecond) {
			return
		}
	}
}

// logsFinished reports whether no more lines can come: the writer closed
// the stream, or the worker or job is over.
func logsFinished(ctx context.Context, t *api.LogTarget) (bool, error) {
	closed, err := t.Closed(ctx)
	if err != nil || closed {
		return closed, err
	}
	phase, err := t.Phase(ctx)
	if err != nil {
		return false, err
	}
	return phase.IsTerminal(), nil
}

// pause waits d or until ctx ends (false).
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
