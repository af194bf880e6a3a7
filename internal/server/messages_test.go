package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestBrigadesWords checks the exact reason of the error answers whose
// words Brigade's API server fixes: a client written for Brigade (and its
// users) reads the same sentence from us. Where our reason goes on after
// Brigade's, what follows only says what to do next.
func TestBrigadesWords(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/words"
	ts.createProject("words", core.EventSubscription{Source: src, Types: []string{"*"}})
	newEvent := func() string { return ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID }

	pending := newEvent()
	finished := newEvent()
	ts.setWorkerPhase(finished, core.PhaseSucceeded)
	running := newEvent()
	wt := ts.startWorker(running)
	jobs := "/v2/events/" + running + "/worker/jobs"
	ts.expect(http.StatusCreated, "POST", jobs, wt, jobBody("first", nil))
	ts.startJob(running, "first")
	ts.expect(http.StatusCreated, "POST", jobs, wt, jobBody("done", nil))
	ts.expect(http.StatusOK, "PUT", jobs+"/done/status", observerToken, statusBody("JobStatus", core.PhaseSucceeded))

	cases := []struct {
		name               string
		status             int
		kind, method, path string
		token              string
		body               any
		want               string
	}{
		{"CancelFinishedEvent", 409, "ConflictError", "PUT", "/v2/events/" + finished + "/cancellation", ts.root, nil,
			`Event "` + finished + `" was not canceled because it was already in a terminal state.`},
		{"RetryPendingEvent", 409, "ConflictError", "POST", "/v2/events/" + pending + "/retries", ts.root, nil,
			`Event worker phase "PENDING" is non-terminal and may not yet be retried. Wait for it to finish, or cancel event "` + pending + `" first.`},
		{"StartStartedWorker", 409, "ConflictError", "PUT", "/v2/events/" + running + "/worker/start", schedulerToken, nil,
			`Event "` + running + `" worker has already been started.`},
		{"StatusOfFinishedWorker", 409, "ConflictError", "PUT", "/v2/events/" + finished + "/worker/status", observerToken,
			statusBody("WorkerStatus", core.PhaseFailed),
			`Event "` + finished + `" worker has already reached a terminal phase.`},
		{"TimeOutPendingWorker", 409, "ConflictError", "PUT", "/v2/events/" + pending + "/worker/timeout", observerToken, nil,
			`Event "` + pending + `" was not timed out because it was not in a starting or running state.`},
		{"JobNameTaken", 409, "ConflictError", "POST", jobs, wt, jobBody("first", nil),
			`Event "` + running + `" already has a job named "first". Give each job of an event its own name.`},
		{"StartStartedJob", 409, "ConflictError", "PUT", jobs + "/first/start", schedulerToken, nil,
			`Event "` + running + `" job "first" has already been started.`},
		{"StatusOfFinishedJob", 409, "ConflictError", "PUT", jobs + "/done/status", observerToken,
			statusBody("JobStatus", core.PhaseFailed),
			`Event "` + running + `" job "done" has already reached a terminal phase.`},
		{"TimeOutFinishedJob", 409, "ConflictError", "PUT", jobs + "/done/timeout", observerToken, nil,
			`Event "` + running + `" job "done" has already reached a terminal phase.`},
		{"PrivilegedJob", 403, "AuthorizationError", "POST", jobs, wt,
			jobBody("priv", map[string]any{"image": "debian:12", "privileged": true}),
			`Worker configuration forbids jobs from utilizing privileged containers. Container "priv" of job "priv" asks to be privileged: ` +
				`set the project's workerTemplate.jobPolicies.allowPrivileged to true to allow it.`},
		{"WorkspaceWithoutUseWorkspace", 409, "ConflictError", "POST", jobs, wt,
			jobBody("ws", map[string]any{"image": "debian:12", "workspaceMountPath": "/ws"}),
			`The job requested access to the shared workspace, but Worker configuration has not enabled this feature. ` +
				`Container "ws" of job "ws" mounts it: set the project's workerTemplate.useWorkspace to true to allow it.`},
		{"ProjectExists", 409, "ConflictError", "POST", "/v2/projects", ts.root, projectBody("words"),
			`Project "words" already exists.`},
		{"ProjectIDsDiffer", 400, "BadRequestError", "PUT", "/v2/projects/other", ts.root, projectBody("words"),
			`The project IDs in the URL path and request body do not match. The path names "other" and the body "words".`},
		{"CancelManyWithoutProject", 400, "BadRequestError", "POST", "/v2/events/cancellations", ts.root, nil,
			`Requests to cancel multiple events must be qualified by project. Name it with the "projectID" query parameter.`},
		{"CancelManyWithoutPhases", 400, "BadRequestError", "POST", "/v2/events/cancellations?projectID=words", ts.root, nil,
			`Requests to cancel multiple events must be qualified by worker phase(s). Name them with the "workerPhases" query parameter.`},
		{"DeleteManyWithoutProject", 400, "BadRequestError", "DELETE", "/v2/events", ts.root, nil,
			`Requests to delete multiple events must be qualified by project. Name it with the "projectID" query parameter.`},
		{"DeleteManyWithoutPhases", 400, "BadRequestError", "DELETE", "/v2/events?projectID=words", ts.root, nil,
			`Requests to delete multiple events must be qualified by worker phase(s). Name them with the "workerPhases" query parameter.`},
		{"NoAuthorizationHeader", 401, "AuthenticationError", "GET", "/v2/projects", "", nil,
			`"Authorization" header is missing. Log in and send "Authorization: Bearer <token>".`},
		{"UnknownToken", 401, "AuthenticationError", "GET", "/v2/projects", "not-a-token", nil,
			`Session not found or may have expired. Please log in again.`},
		{"RootLoginWithoutBasic", 400, "BadRequestError", "POST", "/v2/sessions?root=true", "", nil,
			`The request to create a new root session did not include a valid basic auth header. ` +
				`Send "Authorization: Basic <base64 of root:password>".`},
		{"UserLogin", 501, "NotSupportedError", "POST", "/v2/sessions", "", nil,
			`Authentication using a third party identity provider is not supported by this server. Log in as root (brig login --root).`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := ts.expectError(c.status, c.kind, c.method, c.path, c.token, c.body)
			if got := m["reason"]; got != c.want {
				t.Fatalf("reason\n got %q\nwant %q", got, c.want)
			}
		})
	}

	t.Run("WrongRootPassword", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, ts.url+"/v2/sessions?root=true", nil)
		req.SetBasicAuth("root", "not-the-password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Kind, Reason string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		want := "Could not authenticate request using the supplied credentials. Check the root password the server was given."
		if resp.StatusCode != 401 || body.Kind != "AuthenticationError" || body.Reason != want {
			t.Fatalf("got %d %+v, want 401 AuthenticationError %q", resp.StatusCode, body, want)
		}
	})
}
