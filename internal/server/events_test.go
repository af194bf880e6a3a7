package server_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func projectIDs(evs []core.Event) []string {
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ProjectID)
	}
	sort.Strings(ids)
	return ids
}

func TestEventFanOut(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("any-type", core.EventSubscription{Source: src, Types: []string{"*"}})
	ts.createProject("push-only", core.EventSubscription{Source: src, Types: []string{"push"}})
	ts.createProject("qualified", core.EventSubscription{Source: src, Types: []string{"push"},
		Qualifiers: map[string]string{"repo": "demo"}})
	ts.createProject("labelled", core.EventSubscription{Source: src, Types: []string{"push"},
		Labels: map[string]string{"team": "blue"}})
	ts.createProject("other-source", core.EventSubscription{Source: "example.com/other", Types: []string{"*"}})
	ts.createProject("no-subs")

	cases := []struct {
		name  string
		typ   string
		extra map[string]any
		want  []string
	}{
		{"TypeWildcardAndExactType", "push", nil, []string{"any-type", "push-only"}},
		{"OtherTypeOnlyWildcard", "pull", nil, []string{"any-type"}},
		{"QualifiersMustMatchExactly", "push", map[string]any{"qualifiers": map[string]string{"repo": "demo"}},
			[]string{"qualified"}},
		{"ExtraQualifierMatchesNobody", "push", map[string]any{"qualifiers": map[string]string{"repo": "demo", "extra": "y"}},
			nil},
		{"LabelsAreASubset", "push", map[string]any{"labels": map[string]string{"team": "blue", "extra": "ok"}},
			[]string{"any-type", "labelled", "push-only"}},
		{"WrongLabelValue", "push", map[string]any{"labels": map[string]string{"team": "red"}},
			[]string{"any-type", "push-only"}},
		{"TargetedSubscribedProject", "push", map[string]any{"projectID": "push-only"}, []string{"push-only"}},
		{"TargetedUnsubscribedProjectGetsNothing", "push", map[string]any{"projectID": "no-subs"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := ts.createEvents(eventBody(src, c.typ, c.extra))
			if got := projectIDs(evs); !slices.Equal(got, c.want) {
				t.Fatalf("projects %v, want %v", got, c.want)
			}
			for _, e := range evs {
				if e.Metadata.ID == "" || e.Metadata.Created == nil || e.Worker == nil ||
					e.Worker.Status.Phase != core.PhasePending || e.Worker.Spec.LogLevel != "INFO" ||
					e.Worker.Spec.ConfigFilesDirectory != ".brigade" || e.Worker.Spec.WorkspaceSize != "10Gi" {
					t.Fatalf("event not built per defaults: %+v", e)
				}
			}
		})
	}
	t.Run("EmptyFanOutIs201WithEmptyList", func(t *testing.T) {
		r := ts.expect(201, "POST", "/v2/events", ts.root, eventBody("example.com/nobody", "x", nil))
		m := r.json(t)
		if m["kind"] != "EventList" {
			t.Fatalf("reply %s", r.Body)
		}
	})
	t.Run("UnknownTargetProjectIs404", func(t *testing.T) {
		ts.expectError(404, "NotFoundError", "POST", "/v2/events", ts.root,
			eventBody(src, "push", map[string]any{"projectID": "ghost"}))
	})
	t.Run("GitOverridesMergeIntoWorker", func(t *testing.T) {
		evs := ts.createEvents(eventBody(src, "push", map[string]any{"projectID": "push-only",
			"git": map[string]string{"cloneURL": "https://github.com/example/demo.git", "commit": "abcdef12"}}))
		g := evs[0].Worker.Spec.Git
		if g == nil || g.CloneURL != "https://github.com/example/demo.git" || g.Commit != "abcdef12" {
			t.Fatalf("worker git %+v", g)
		}
	})
	t.Run("InvalidEventsAreRejected", func(t *testing.T) {
		for name, body := range map[string]map[string]any{
			"shortSource":   eventBody("ab", "push", nil),
			"badType":       eventBody(src, "has space", nil),
			"metadataField": eventBody(src, "push", map[string]any{"metadata": map[string]any{"id": "x"}}),
			"workerField":   eventBody(src, "push", map[string]any{"worker": map[string]any{}}),
			"longTitle":     eventBody(src, "push", map[string]any{"shortTitle": fmt.Sprintf("%051d", 1)}),
			"badCommit":     eventBody(src, "push", map[string]any{"git": map[string]string{"commit": "zz"}}),
		} {
			t.Run(name, func(t *testing.T) {
				ts.expectError(400, "BadRequestError", "POST", "/v2/events", ts.root, body)
			})
		}
	})
	t.Run("WrongPrincipalIs403", func(t *testing.T) {
		ts.expectError(403, "AuthorizationError", "POST", "/v2/events", schedulerToken, eventBody(src, "push", nil))
	})
}

func TestEventListing(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("one", core.EventSubscription{Source: src, Types: []string{"*"}})
	ts.createProject("two", core.EventSubscription{Source: src, Types: []string{"*"}})
	var created []string
	for i := 0; i < 5; i++ {
		evs := ts.createEvents(eventBody(src, fmt.Sprintf("t%d", i%2), map[string]any{
			"projectID": "one", "qualifiers": map[string]string{}, "labels": map[string]string{"num": fmt.Sprint(i)},
			"sourceState": map[string]any{"state": map[string]string{"cursor": fmt.Sprint(i)}},
		}))
		created = append(created, evs[0].Metadata.ID)
	}
	ts.createEvents(eventBody(src, "t0", map[string]any{"projectID": "two"}))

	list := func(q string) ([]string, core.ListMeta) {
		var page struct {
			Metadata core.ListMeta
			Items    []core.Event
		}
		ts.expect(200, "GET", "/v2/events?"+q, ts.root, nil).into(t, &page)
		var ids []string
		for _, e := range page.Items {
			ids = append(ids, e.Metadata.ID)
		}
		return ids, page.Metadata
	}
	t.Run("NewestFirstAndPaged", func(t *testing.T) {
		ids, meta := list("projectID=one&limit=2")
		if len(ids) != 2 || ids[0] != created[4] || ids[1] != created[3] || meta.RemainingItemCount != 3 || meta.Continue == "" {
			t.Fatalf("first page %v %+v", ids, meta)
		}
		rest, meta2 := list("projectID=one&limit=100&continue=" + meta.Continue)
		if len(rest) != 3 || rest[0] != created[2] || meta2.Continue != "" || meta2.RemainingItemCount != 0 {
			t.Fatalf("second page %v %+v", rest, meta2)
		}
	})
	t.Run("Selectors", func(t *testing.T) {
		if ids, _ := list("projectID=one&type=t1"); len(ids) != 2 {
			t.Fatalf("type filter: %v", ids)
		}
		if ids, _ := list("labels=num=3"); len(ids) != 1 || ids[0] != created[3] {
			t.Fatalf("label filter: %v", ids)
		}
		if ids, _ := list("sourceState=cursor=4"); len(ids) != 1 || ids[0] != created[4] {
			t.Fatalf("sourceState filter: %v", ids)
		}
		if ids, _ := list("workerPhases=PENDING,RUNNING"); len(ids) != 6 {
			t.Fatalf("phase filter: %v", ids)
		}
		if ids, _ := list("workerPhases=SUCCEEDED"); len(ids) != 0 {
			t.Fatalf("phase filter: %v", ids)
		}
		ts.expectError(400, "BadRequestError", "GET", "/v2/events?labels=novalue", ts.root, nil)
		ts.expectError(400, "BadRequestError", "GET", "/v2/events?workerPhases=SLEEPING", ts.root, nil)
	})
	t.Run("GetAndMissing", func(t *testing.T) {
		ev := ts.getEvent(created[0])
		if ev.SourceState == nil || ev.SourceState.State["cursor"] != "0" {
			t.Fatalf("event %+v", ev)
		}
		nf := ts.expectError(404, "NotFoundError", "GET", "/v2/events/nope", ts.root, nil)
		if nf["type"] != "Event" {
			t.Fatalf("404 %v", nf)
		}
	})
	t.Run("SourceStateReplaced", func(t *testing.T) {
		ts.expect(200, "PUT", "/v2/events/"+created[0]+"/source-state", ts.root, map[string]any{
			"apiVersion": core.APIVersion, "kind": "SourceState", "state": map[string]string{"done": "yes"}})
		ev := ts.getEvent(created[0])
		if ev.SourceState.State["done"] != "yes" || ev.SourceState.State["cursor"] != "" {
			t.Fatalf("source state %+v", ev.SourceState)
		}
		ts.expectError(404, "NotFoundError", "PUT", "/v2/events/nope/source-state", ts.root, map[string]any{
			"apiVersion": core.APIVersion, "kind": "SourceState"})
	})
}

func TestEventLifecycle(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("life", core.EventSubscription{Source: src, Types: []string{"*"}})
	newEvent := func() string { return ts.createEvents(eventBody(src, "push", nil))[0].Metadata.ID }

	t.Run("CancelPendingThenAgainIs409", func(t *testing.T) {
		id := newEvent()
		ts.expect(200, "PUT", "/v2/events/"+id+"/cancellation", ts.root, nil)
		if p := ts.getEvent(id).Worker.Status.Phase; p != core.PhaseCanceled {
			t.Fatalf("phase %s", p)
		}
		ts.expectError(409, "ConflictError", "PUT", "/v2/events/"+id+"/cancellation", ts.root, nil)
	})
	t.Run("CancelRunningAbortsItAndItsJobs", func(t *testing.T) {
		id := newEvent()
		wt := ts.startWorker(id)
		ts.setWorkerPhase(id, core.PhaseRunning)
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("pending-job", nil))
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("running-job", nil))
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/running-job/start", schedulerToken, nil)
		ts.expect(200, "PUT", "/v2/events/"+id+"/cancellation", ts.root, nil)
		ev := ts.getEvent(id)
		if ev.Worker.Status.Phase != core.PhaseAborted || ev.Worker.Jobs[0].Status.Phase != core.PhaseCanceled ||
			ev.Worker.Jobs[1].Status.Phase != core.PhaseAborted {
			t.Fatalf("after cancel: worker %s jobs %+v", ev.Worker.Status.Phase, ev.Worker.Jobs)
		}
		if slices.Contains(ts.cleanupsDue(time.Now()), id) || !slices.Contains(ts.cleanupsDue(time.Now().Add(cleanupDelay)), id) {
			t.Fatalf("cancel did not schedule the cleanup of %s after the delay", id)
		}
	})
	t.Run("CancelMany", func(t *testing.T) {
		a, b := newEvent(), newEvent()
		ts.expectError(400, "BadRequestError", "POST", "/v2/events/cancellations?workerPhases=PENDING", ts.root, nil)
		ts.expectError(400, "BadRequestError", "POST", "/v2/events/cancellations?projectID=life", ts.root, nil)
		m := ts.expect(200, "POST", "/v2/events/cancellations?projectID=life&workerPhases=SUCCEEDED", ts.root, nil).json(t)
		if m["kind"] != "CancelManyEventsResult" || m["count"] != float64(0) {
			t.Fatalf("no-op cancel-many %v", m)
		}
		m = ts.expect(200, "POST", "/v2/events/cancellations?projectID=life&workerPhases=PENDING", ts.root, nil).json(t)
		if m["count"] != float64(2) {
			t.Fatalf("cancel-many %v", m)
		}
		for _, id := range []string{a, b} {
			if p := ts.getEvent(id).Worker.Status.Phase; p != core.PhaseCanceled {
				t.Fatalf("phase %s", p)
			}
		}
	})
	t.Run("CloneUsesCurrentTemplate", func(t *testing.T) {
		id := newEvent()
		var clone core.Event
		ts.expect(201, "POST", "/v2/events/"+id+"/clones", ts.root, nil).into(t, &clone)
		if clone.Metadata.ID == id || clone.Labels[core.LabelCloneOf] != id || clone.Worker.Status.Phase != core.PhasePending {
			t.Fatalf("clone %+v", clone)
		}
		ts.expectError(404, "NotFoundError", "POST", "/v2/events/nope/clones", ts.root, nil)
	})
	t.Run("RetryInheritsSucceededJobs", func(t *testing.T) {
		id := newEvent()
		ts.expectError(409, "ConflictError", "POST", "/v2/events/"+id+"/retries", ts.root, nil)
		wt := ts.startWorker(id)
		ts.setWorkerPhase(id, core.PhaseRunning)
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("build", nil))
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("deploy", nil))
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/build/status", observerToken, statusBody("JobStatus", core.PhaseSucceeded))
		ts.expect(200, "PUT", "/v2/events/"+id+"/worker/jobs/deploy/status", observerToken, statusBody("JobStatus", core.PhaseFailed))
		ts.setWorkerPhase(id, core.PhaseFailed)
		var retry core.Event
		ts.expect(201, "POST", "/v2/events/"+id+"/retries", ts.root, nil).into(t, &retry)
		if retry.Labels[core.LabelRetryOf] != id || len(retry.Worker.Jobs) != 1 || retry.Worker.Jobs[0].Name != "build" ||
			retry.Worker.Jobs[0].Status.LogsEventID != id {
			t.Fatalf("retry %+v", retry.Worker)
		}
		// The retried worker re-creating the same job reuses the result; a
		// new job runs.
		rt := ts.startWorker(retry.Metadata.ID)
		ts.expect(201, "POST", "/v2/events/"+retry.Metadata.ID+"/worker/jobs", rt, jobBody("build", nil))
		ts.expect(201, "POST", "/v2/events/"+retry.Metadata.ID+"/worker/jobs", rt, jobBody("deploy", nil))
		ev := ts.getEvent(retry.Metadata.ID)
		if len(ev.Worker.Jobs) != 2 || ev.Worker.Jobs[0].Status.Phase != core.PhaseSucceeded || ev.Worker.Jobs[1].Status.Phase != core.PhasePending {
			t.Fatalf("retried jobs %+v", ev.Worker.Jobs)
		}
	})
	t.Run("DeleteOneAndMany", func(t *testing.T) {
		id := newEvent()
		ts.expect(200, "DELETE", "/v2/events/"+id, ts.root, nil)
		ts.expectError(404, "NotFoundError", "GET", "/v2/events/"+id, ts.root, nil)
		if !slices.Contains(ts.cleanupsDue(time.Now()), id) {
			t.Fatalf("delete did not schedule the cleanup of %s for now", id)
		}
		ts.expectError(404, "NotFoundError", "DELETE", "/v2/events/"+id, ts.root, nil)
		ts.expectError(400, "BadRequestError", "DELETE", "/v2/events?projectID=life", ts.root, nil)
		m := ts.expect(200, "DELETE", "/v2/events?projectID=life&workerPhases=CANCELED,ABORTED", ts.root, nil).json(t)
		if m["kind"] != "DeleteManyEventsResult" || m["count"].(float64) < 3 {
			t.Fatalf("delete-many %v", m)
		}
		if due := ts.cleanupsDue(time.Now()); len(due) != 1+int(m["count"].(float64)) {
			t.Fatalf("delete-many of %v events left %d cleanups due: %v", m["count"], len(due), due)
		}
		var page struct{ Items []core.Event }
		ts.expect(200, "GET", "/v2/events?workerPhases=CANCELED,ABORTED", ts.root, nil).into(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("%d canceled events left", len(page.Items))
		}
	})
}
