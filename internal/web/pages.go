package web

import (
	"net/http"
	"slices"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// latestPerProject is how many recent events the projects page shows
// beside each project, and recentEvents how many a project's page shows.
const (
	latestPerProject = 3
	recentEvents     = 20
)

type projectRow struct {
	Project core.Project
	Latest  []core.Event
}

type projectsView struct {
	Rows     []projectRow
	Continue string
	Live     string
}

// projects reads a page of projects with their latest events.
func (d *Dashboard) projects(r *http.Request) (*projectsView, error) {
	ctx := r.Context()
	list, meta, err := d.svc.ListProjects(ctx, core.ListOptions{Limit: 100, Continue: r.URL.Query().Get("continue")})
	if err != nil {
		return nil, err
	}
	v := &projectsView{Continue: meta.Continue, Live: "/live/projects"}
	if c := r.URL.Query().Get("continue"); c != "" {
		v.Live += "?continue=" + c
	}
	for _, p := range list {
		evs, _, err := d.svc.ListEvents(ctx, core.EventSelector{ProjectID: p.Metadata.ID}, core.ListOptions{Limit: latestPerProject})
		if err != nil {
			return nil, err
		}
		v.Rows = append(v.Rows, projectRow{Project: p, Latest: evs})
	}
	return v, nil
}

func (d *Dashboard) projectsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := d.projects(r)
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	d.render(w, http.StatusOK, "projects", view{Title: "Projects", Who: who(p), CSRF: csrfOf(r), Data: v})
}

type projectView struct {
	Project     *core.Project
	Events      []core.Event
	Continue    string
	SecretKeys  []string
	SecretsNote string
	CanCreate   bool
	Form        eventForm
	Live        string
}

// eventForm is the "send an event" form, with what was typed when it is
// shown again with an error.
type eventForm struct {
	Source, Type, Payload, Error string
}

func (d *Dashboard) project(r *http.Request, p *auth.Principal, id string) (*projectView, error) {
	ctx := r.Context()
	proj, err := d.svc.GetProject(ctx, id)
	if err != nil {
		return nil, err
	}
	evs, meta, err := d.svc.ListEvents(ctx, core.EventSelector{ProjectID: id},
		core.ListOptions{Limit: recentEvents, Continue: r.URL.Query().Get("continue")})
	if err != nil {
		return nil, err
	}
	v := &projectView{Project: proj, Events: evs, Continue: meta.Continue, Live: "/projects/" + id + "/live",
		CanCreate: p.HasProjectRole(id, auth.RoleProjectUser)}
	// Secrets' keys only: the service never hands values out here.
	secrets, _, err := d.svc.ListSecrets(ctx, id, core.ListOptions{Limit: 100})
	switch status, _ := classify(err); {
	case err == nil:
		for _, s := range secrets {
			v.SecretKeys = append(v.SecretKeys, s.Key)
		}
		slices.Sort(v.SecretKeys)
	case status == http.StatusForbidden:
		v.SecretsNote = "Listing this project's secrets needs the PROJECT_USER role on it."
	default:
		return nil, err
	}
	v.Form = defaultForm(proj)
	return v, nil
}

// defaultForm fills the event form from the project's first subscription.
func defaultForm(p *core.Project) eventForm {
	f := eventForm{Source: "brigade.sh/cli", Type: "exec"}
	if subs := p.Spec.EventSubscriptions; len(subs) > 0 {
		f.Source = subs[0].Source
		for _, t := range subs[0].Types {
			if t != "*" {
				f.Type = t
				break
			}
		}
	}
	return f
}

func (d *Dashboard) projectPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := d.project(r, p, r.PathValue("id"))
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	d.render(w, http.StatusOK, "project", view{Title: "Project " + v.Project.Metadata.ID, Who: who(p), CSRF: csrfOf(r),
		Crumbs: []crumb{{"Projects", "/"}}, Data: v})
}

type eventView struct {
	Event     *core.Event
	Timeline  timeline
	Running   bool // not terminal: the page follows it
	CanCancel bool
	CanRetry  bool
	Live      string
	CSRF      string
}

func (d *Dashboard) event(r *http.Request, p *auth.Principal, id string) (*eventView, error) {
	ev, err := d.svc.GetEvent(r.Context(), id)
	if err != nil {
		return nil, err
	}
	running := ev.Worker == nil || !ev.Worker.Status.Phase.IsTerminal()
	user := p.HasProjectRole(ev.ProjectID, auth.RoleProjectUser)
	return &eventView{
		Event: ev, Timeline: buildTimeline(ev, d.opts.Now()), Running: running,
		CanCancel: user && running,
		CanRetry:  user || p.HasRole(auth.RoleEventCreator, ev.Source),
		Live:      "/events/" + id + "/live", CSRF: csrfOf(r),
	}, nil
}

func (d *Dashboard) eventPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := d.event(r, p, r.PathValue("id"))
	if err != nil {
		d.fail(w, r, p, err)
		return
	}
	ev := v.Event
	d.render(w, http.StatusOK, "event", view{Title: "Event " + ev.Metadata.ID, Who: who(p), CSRF: csrfOf(r),
		Crumbs: []crumb{{"Projects", "/"}, {ev.ProjectID, "/projects/" + ev.ProjectID}}, Data: v})
}
