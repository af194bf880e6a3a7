package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A check suite request asks GitHub for a check suite on a commit it
// would not check on its own (a fork's pull request, or a "/brig check"
// comment), so that GitHub sends check_suite:rerequested, which becomes
// ci:pipeline_requested. It is done after the delivery is answered, by
// Run; a failure is only logged.
type checkSuiteRequest struct {
	app                       *App
	installation, owner, repo string
	sha                       string // the head commit; empty: read it from pull request pr
	pr                        int64
}

// forwardQueue bounds the check suite requests waiting for Run.
const forwardQueue = 64

// forwardTimeout bounds the GitHub calls of one check suite request.
const forwardTimeout = time.Minute

// forwardCheckSuite queues a check suite request when the delivery of an
// App asks for one: a pull request opened, synchronized or reopened from a
// fork, or a comment "/brig check" (or "/brig run") on a pull request, by
// an author whose association is allowed (Config.CheckSuiteAuthors).
func (g *Gateway) forwardCheckSuite(d delivery, body []byte) {
	if d.name != "pull_request" && d.name != "issue_comment" {
		return
	}
	var p payload
	if json.Unmarshal(body, &p) != nil || p.Installation == nil || p.Repository == nil {
		return
	}
	req := checkSuiteRequest{app: d.app, installation: strconv.FormatInt(p.Installation.ID, 10),
		owner: p.Repository.Owner.Login, repo: p.Repository.Name}
	switch {
	case d.name == "pull_request" && p.PullRequest != nil:
		pr := p.PullRequest
		if !slices.Contains([]string{"opened", "synchronize", "reopened"}, p.Action) ||
			pr.Head.Repo == nil || !pr.Head.Repo.Fork || !g.allowedAuthor(pr.AuthorAssociation) {
			return
		}
		req.sha = pr.Head.SHA
	case d.name == "issue_comment" && p.Issue != nil && p.Comment != nil:
		text := strings.ToLower(p.Comment.Body)
		if p.Action != "created" || p.Issue.PullRequest == nil || !g.allowedAuthor(p.Comment.AuthorAssociation) ||
			!strings.Contains(text, "/brig check") && !strings.Contains(text, "/brig run") {
			return
		}
		req.pr = p.Issue.Number
	default:
		return
	}
	select {
	case g.forwards <- req:
	default:
		g.env.Log.Warn("too many check suite requests waiting: dropping one",
			"repo", req.owner+"/"+req.repo, "appID", req.app.ID)
	}
}

func (g *Gateway) allowedAuthor(assoc string) bool {
	return assoc != "" && slices.ContainsFunc(g.cfg.CheckSuiteAuthors, func(a string) bool {
		return strings.EqualFold(strings.TrimSpace(a), assoc)
	})
}

// forward serves the queued check suite requests until ctx ends.
func (g *Gateway) forward(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-g.forwards:
			rctx, cancel := context.WithTimeout(ctx, forwardTimeout)
			if err := g.requestCheckSuite(rctx, req); err != nil && ctx.Err() == nil {
				g.env.Log.Warn("asking GitHub for a check suite failed", "repo", req.owner+"/"+req.repo,
					"appID", req.app.ID, "error", err)
			}
			cancel()
		}
	}
}

// requestCheckSuite finds the App's check suite on the commit (creating
// it when there is none) and re-requests it.
func (g *Gateway) requestCheckSuite(ctx context.Context, req checkSuiteRequest) error {
	call := func(method, path string, in, out any, want int) error {
		return g.gh.asInstallation(ctx, req.app, req.installation, method, repoPath(req.owner, req.repo)+path, in, out, want)
	}
	if req.sha == "" {
		var pr pullRequest
		if err := call(http.MethodGet, "/pulls/"+strconv.FormatInt(req.pr, 10), nil, &pr, http.StatusOK); err != nil {
			return err
		}
		req.sha = pr.Head.SHA
	}
	if req.sha == "" || !isHex(req.sha) {
		return fmt.Errorf("no head commit to check (%q)", req.sha)
	}
	var suites struct {
		CheckSuites []struct {
			ID int64 `json:"id"`
		} `json:"check_suites"`
	}
	path := "/commits/" + req.sha + "/check-suites?app_id=" + strconv.FormatInt(req.app.ID, 10)
	if err := call(http.MethodGet, path, nil, &suites, http.StatusOK); err != nil {
		return err
	}
	var id int64
	if len(suites.CheckSuites) > 0 {
		id = suites.CheckSuites[0].ID
	} else {
		var created struct {
			ID int64 `json:"id"`
		}
		if err := call(http.MethodPost, "/check-suites", map[string]string{"head_sha": req.sha}, &created, http.StatusCreated); err != nil {
			return err
		}
		id = created.ID
	}
	return call(http.MethodPost, "/check-suites/"+strconv.FormatInt(id, 10)+"/rerequest", nil, nil, http.StatusCreated)
}
