package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/schema"
)

// The actions call the same service methods as the API's endpoints, as the
// signed-in principal: whoever may not do a thing through the API may not
// do it here. Each ends in a redirect to the page that shows the result
// (POST, redirect, GET), so the back button and a reload do no harm.

func (d *Dashboard) cancelEvent(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := r.PathValue("id")
	err := d.svc.CancelEvent(r.Context(), id)
	d.record(r, p, "PUT /v2/events/{id}/cancellation", "events/"+id, err)
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/events/"+id, http.StatusSeeOther)
}

func (d *Dashboard) retryEvent(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := r.PathValue("id")
	ev, err := d.svc.RetryEvent(r.Context(), id)
	d.record(r, p, "POST /v2/events/{id}/retries", "events/"+id, err)
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/events/"+ev.Metadata.ID, http.StatusSeeOther)
}

func (d *Dashboard) cloneEvent(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := r.PathValue("id")
	ev, err := d.svc.CloneEvent(r.Context(), id)
	d.record(r, p, "POST /v2/events/{id}/clones", "events/"+id, err)
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/events/"+ev.Metadata.ID, http.StatusSeeOther)
}

// createEvent sends an event to one project, with the form's source, type
// and payload. The event goes through the same schema as POST /v2/events;
// a refusal shows the form again with what was typed and why.
func (d *Dashboard) createEvent(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := r.PathValue("id")
	f := eventForm{Source: strings.TrimSpace(r.PostForm.Get("source")), Type: strings.TrimSpace(r.PostForm.Get("type")),
		Payload: r.PostForm.Get("payload")}
	ev := map[string]any{"apiVersion": "brigade.sh/v2", "kind": "Event", "projectID": id, "source": f.Source, "type": f.Type}
	if f.Payload != "" {
		ev["payload"] = f.Payload
	}
	b, err := json.Marshal(ev)
	if err == nil {
		err = schema.Validate(schema.Event, b)
	}
	var created []core.Event
	if err == nil {
		created, err = d.svc.CreateEvent(r.Context(), &core.Event{ProjectID: id, Source: f.Source, Type: f.Type, Payload: f.Payload})
	}
	if err == nil && len(created) == 0 {
		err = core.NewBadRequest(fmt.Sprintf("Project %q does not subscribe to events of source %q and type %q, so none was created; "+
			"use a source and type from its subscriptions.", id, f.Source, f.Type))
	}
	d.record(r, p, "POST /v2/events", "projects/"+id, err)
	if err != nil {
		status, msg := classify(err)
		if status == http.StatusNotFound || status >= 500 {
			d.fail(w, r, p, err)
			return
		}
		v, perr := d.project(r, p, id)
		if perr != nil {
			d.fail(w, r, p, perr)
			return
		}
		f.Error = msg
		v.Form = f
		d.render(w, status, "project", view{Title: "Project " + id, Who: who(p), CSRF: csrfOf(r),
			Crumbs: []crumb{{"Projects", "/"}}, Data: v})
		return
	}
	http.Redirect(w, r, "/events/"+created[0].Metadata.ID, http.StatusSeeOther)
}
