package github

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// delivery is what the headers say about a verified delivery.
type delivery struct {
	name   string // X-GitHub-Event
	app    *App   // nil for a repository or organization webhook
	hookID string
	key    string // deliveryKey
}

// invalidError is a delivery that is well-formed but cannot become a valid
// event without changing its routing (422).
type invalidError struct{ reason string }

func (e *invalidError) Error() string { return e.reason }

type repository struct {
	FullName string `json:"full_name"`
	Name     string `json:"name"`
	Owner    struct {
		Login string `json:"login"`
	} `json:"owner"`
}

type suite struct {
	HeadSHA    string `json:"head_sha"`
	HeadBranch string `json:"head_branch"`
}

// payload holds the fields of any webhook payload the mapping reads.
type payload struct {
	Action       string      `json:"action"`
	Ref          string      `json:"ref"`
	Deleted      bool        `json:"deleted"`
	Repository   *repository `json:"repository"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Repositories        []repository `json:"repositories"`
	RepositoriesAdded   []repository `json:"repositories_added"`
	RepositoriesRemoved []repository `json:"repositories_removed"`
	HeadCommit          *struct {
		ID string `json:"id"`
	} `json:"head_commit"`
	PullRequest *pullRequest `json:"pull_request"`
	CheckSuite  *suite       `json:"check_suite"`
	CheckRun    *struct {
		Name       string `json:"name"`
		HeadSHA    string `json:"head_sha"`
		CheckSuite suite  `json:"check_suite"`
	} `json:"check_run"`
	Release *struct {
		TagName string `json:"tag_name"`
	} `json:"release"`
	Commit *struct {
		SHA string `json:"sha"`
	} `json:"commit"`
	Issue *struct {
		Number      int64     `json:"number"`
		PullRequest *struct{} `json:"pull_request"`
	} `json:"issue"`
	Comment *struct {
		Body              string `json:"body"`
		AuthorAssociation string `json:"author_association"`
	} `json:"comment"`
}

type pullRequest struct {
	Number            int64  `json:"number"`
	Title             string `json:"title"`
	AuthorAssociation string `json:"author_association"`
	Head              struct {
		SHA  string `json:"sha"`
		Repo *struct {
			Fork     bool   `json:"fork"`
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"head"`
}

// handled are the webhook events that become Brigade events; any other is
// answered 200 with no event.
var handled = map[string]bool{
	"check_run": true, "check_suite": true, "create": true, "delete": true, "fork": true,
	"gollum": true, "installation": true, "installation_repositories": true, "issue_comment": true,
	"issues": true, "label": true, "member": true, "milestone": true, "page_build": true,
	"project": true, "project_card": true, "project_column": true, "public": true,
	"pull_request": true, "pull_request_review": true, "pull_request_review_comment": true,
	"push": true, "release": true, "repository": true, "status": true, "team_add": true, "watch": true,
}

// Title limits of the API.
const (
	maxShortTitle = 50
	maxLongTitle  = 100
)

// mapDelivery turns a verified delivery into the events to create, in
// order, each with its own idempotency key derived from the delivery's.
func mapDelivery(d delivery, body []byte) ([]keyedEvent, error) {
	if !handled[d.name] {
		return nil, nil
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("want a JSON object")
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, err
	}
	typ := d.name
	if p.Action != "" {
		typ += ":" + p.Action
	}
	if !validValue(typ) {
		return nil, &invalidError{"event type " + strconv.Quote(typ) + " is not a valid Brigade event type"}
	}
	ev := core.Event{Source: Source, Type: typ, Payload: string(body), Labels: map[string]string{}}
	switch {
	case d.app != nil:
		ev.Labels["appID"] = strconv.FormatInt(d.app.ID, 10)
	case validValue(d.hookID):
		ev.Labels["hookID"] = d.hookID
	}
	if p.Repository != nil {
		if err := qualify(&ev, p.Repository.FullName); err != nil {
			return nil, err
		}
	}
	var extra []string // types of the CI/CD events that follow the original
	var track string   // head SHA of a check to report, if any
	switch d.name {
	case "check_run":
		cr := p.CheckRun
		if cr == nil {
			return nil, errors.New("no check_run")
		}
		project, job, ok := strings.Cut(cr.Name, ":")
		if !ok || !validProjectID(project) {
			return nil, nil // not one of ours: no project to route it to
		}
		ev.ProjectID = project
		setGit(&ev, cr.CheckSuite.HeadSHA, cr.CheckSuite.HeadBranch)
		if p.Action == "rerequested" {
			extra = append(extra, "ci:job_requested")
			track = cmp.Or(cr.HeadSHA, cr.CheckSuite.HeadSHA)
		}
		evs := withExtras(d, p, ev, extra, track)
		if len(evs) > 1 && validValue(job) {
			evs[1].ev.Labels = maps.Clone(evs[1].ev.Labels)
			evs[1].ev.Labels["job"] = job
		}
		return evs, nil
	case "check_suite":
		if p.CheckSuite == nil {
			return nil, errors.New("no check_suite")
		}
		setGit(&ev, p.CheckSuite.HeadSHA, p.CheckSuite.HeadBranch)
		if p.Action == "requested" || p.Action == "rerequested" {
			extra = append(extra, "ci:pipeline_requested")
			track = p.CheckSuite.HeadSHA
		}
	case "create":
		setGit(&ev, "", p.Ref)
	case "installation", "installation_repositories":
		repos := p.Repositories
		if d.name == "installation_repositories" {
			repos = p.RepositoriesAdded
			if p.Action == "removed" {
				repos = p.RepositoriesRemoved
			}
		}
		return perRepository(d, ev, repos)
	case "pull_request", "pull_request_review", "pull_request_review_comment":
		if pr := p.PullRequest; pr != nil {
			n := strconv.FormatInt(pr.Number, 10)
			setGit(&ev, pr.Head.SHA, "refs/pull/"+n+"/head")
			setTitles(&ev, "PR #"+n, "PR #"+n+": "+pr.Title)
		}
	case "push":
		if p.Deleted {
			ev.Type = "push:delete"
			break
		}
		if p.HeadCommit != nil {
			setGit(&ev, p.HeadCommit.ID, p.Ref)
		} else {
			setGit(&ev, "", p.Ref)
		}
		if b, ok := strings.CutPrefix(p.Ref, "refs/heads/"); ok {
			setTitles(&ev, "branch: "+b, "branch: "+b)
		} else if t, ok := strings.CutPrefix(p.Ref, "refs/tags/"); ok {
			setTitles(&ev, "tag: "+t, "tag: "+t)
		}
	case "release":
		if p.Release != nil {
			setGit(&ev, "", p.Release.TagName)
		}
		if p.Action == "published" {
			extra = append(extra, "cd:pipeline_requested")
		}
	case "status":
		if p.Commit != nil {
			setGit(&ev, p.Commit.SHA, "")
		}
	}
	return withExtras(d, p, ev, extra, track), nil
}

// withExtras is the original event followed by a copy of it for each
// extra type, all tracked for check-run reporting when track (a head SHA)
// is set and the App can report.
func withExtras(d delivery, p payload, ev core.Event, extra []string, track string) []keyedEvent {
	if track != "" && d.app != nil && d.app.Key != nil && p.Installation != nil && p.Repository != nil &&
		p.Repository.Owner.Login != "" && p.Repository.Name != "" {
		ev.SourceState = &core.SourceState{State: map[string]string{
			stTracking: "true", stInstallation: strconv.FormatInt(p.Installation.ID, 10),
			stOwner: p.Repository.Owner.Login, stRepo: p.Repository.Name, stHeadSHA: track,
		}}
	}
	out := []keyedEvent{{ev: ev, key: subKey(d.key, "")}}
	for _, t := range extra {
		cp := ev
		cp.Type = t
		out = append(out, keyedEvent{ev: cp, key: subKey(d.key, t)})
	}
	return out
}

// perRepository is one event for each repository (installation events);
// a repository listed twice is one event, as its key is one key.
func perRepository(d delivery, ev core.Event, repos []repository) ([]keyedEvent, error) {
	var out []keyedEvent
	seen := make(map[string]bool, len(repos))
	for _, r := range repos {
		if seen[r.FullName] {
			continue
		}
		seen[r.FullName] = true
		cp := ev
		cp.Qualifiers = nil
		if err := qualify(&cp, r.FullName); err != nil {
			return nil, err
		}
		out = append(out, keyedEvent{ev: cp, key: subKey(d.key, "repo/"+r.FullName)})
	}
	return out, nil
}

// qualify sets the repo qualifier; a name the API would refuse is an
// error rather than dropped, since dropping it would change the routing.
func qualify(ev *core.Event, fullName string) error {
	if fullName == "" {
		return nil
	}
	if !validValue(fullName) {
		return &invalidError{"repository name " + strconv.Quote(fullName) + " cannot be a Brigade qualifier value"}
	}
	ev.Qualifiers = map[string]string{"repo": fullName}
	return nil
}

// setGit sets the event's git fields; a commit that is not 8 to 40 hex
// digits is left out.
func setGit(ev *core.Event, commit, ref string) {
	if !isHex(commit) || len(commit) < 8 || len(commit) > 40 {
		commit = ""
	}
	if commit == "" && ref == "" {
		return
	}
	ev.Git = &core.GitDetails{Commit: commit, Ref: ref}
}

func setTitles(ev *core.Event, short, long string) {
	ev.ShortTitle = truncate(short, maxShortTitle)
	ev.LongTitle = truncate(long, maxLongTitle)
}

// truncate keeps the first n characters of s, ending in "…" when cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// validValue is the API's rule for event types and for qualifier and
// label values: 1 to 255 of letters, digits and _:/-.?=*.
func validValue(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_:/-.?=*", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validProjectID is the API's rule for project IDs.
func validProjectID(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
