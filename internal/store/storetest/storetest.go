// Package storetest is the conformance suite every core.Store implementation
// passes. An implementation's test calls Run with a function that opens a
// fresh, empty store for one subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) core.Store { ... })
//	}
//
// Subtests read like specs ("Events/ListOrdersByCreatedDescThenID"); each gets
// its own store and runs in parallel with the others. Nothing sleeps to
// synchronise: notifications are awaited on their channels with a timeout,
// and the few queue cases that need a lease to expire wait for the wall
// clock to pass the expiry.
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

type testCase struct {
	name string
	fn   func(t *testing.T, s core.Store)
}

// Run runs every conformance case against stores made by open, which must
// return a fresh, empty store and arrange (t.Cleanup) to close it.
func Run(t *testing.T, open func(t *testing.T) core.Store) {
	var all []testCase
	all = append(all, projectCases()...)
	all = append(all, eventCases()...)
	all = append(all, selectorCases()...)
	all = append(all, jobCases()...)
	all = append(all, jobEnvCases()...)
	all = append(all, eventHeadCases()...)
	all = append(all, statusCases()...)
	all = append(all, secretCases()...)
	all = append(all, sessionCases()...)
	all = append(all, principalCases()...)
	all = append(all, settingCases()...)
	all = append(all, logCases()...)
	all = append(all, queueCases()...)
	all = append(all, cleanupCases()...)
	all = append(all, auditCases()...)
	all = append(all, deliveryCases()...)
	all = append(all, txCases()...)
	all = append(all, subscribeCases()...)
	all = append(all, topicCases()...)
	all = append(all, concurrencyCases()...)
	for _, c := range all {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// notifyTimeout bounds every wait for a notification.
const notifyTimeout = 10 * time.Second

// base is a fixed instant the fixtures count from; it is not in UTC on
// purpose, so every round trip checks the conversion.
var base = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.FixedZone("UTC+5", 5*3600))

var errBoom = errors.New("boom: the caller's own failure")

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func wantNotFound(t *testing.T, err error, kind string) {
	t.Helper()
	var nf *core.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("got error %v (%T), want *core.NotFoundError of a %s", err, err, kind)
	}
	if nf.Type != kind {
		t.Fatalf("got NotFoundError.Type %q, want %q (error: %v)", nf.Type, kind, err)
	}
}

func wantConflict(t *testing.T, err error) {
	t.Helper()
	var c *core.ConflictError
	if !errors.As(err, &c) {
		t.Fatalf("got error %v (%T), want *core.ConflictError", err, err)
	}
}

func wantBadRequest(t *testing.T, err error) {
	t.Helper()
	var b *core.BadRequestError
	if !errors.As(err, &b) {
		t.Fatalf("got error %v (%T), want *core.BadRequestError", err, err)
	}
}

func wantEqual[T any](t *testing.T, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// wantTime checks a stored time: in UTC and equal to want to the
// millisecond (stores keep at least that precision).
func wantTime(t *testing.T, got *time.Time, want time.Time, what string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got no time, want %s", what, want)
	}
	if got.Location() != time.UTC {
		t.Fatalf("%s: got location %s, want UTC", what, got.Location())
	}
	if d := got.Sub(want); d > time.Millisecond || d < -time.Millisecond {
		t.Fatalf("%s: got %s, want %s", what, got, want.UTC())
	}
}

// wantMeta checks pagination metadata is self-consistent and as expected.
func wantMeta(t *testing.T, meta core.ListMeta, remaining int64, what string) {
	t.Helper()
	if meta.RemainingItemCount != remaining {
		t.Fatalf("%s: got remainingItemCount %d, want %d", what, meta.RemainingItemCount, remaining)
	}
	if (meta.Continue != "") != (remaining > 0) {
		t.Fatalf("%s: continue %q with remainingItemCount %d: want a cursor exactly when items remain",
			what, meta.Continue, remaining)
	}
}

func waitNotified(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(notifyTimeout):
		t.Fatalf("no notification for %s within %s", what, notifyTimeout)
	}
}

func wantNoNotification(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatalf("unexpected notification for %s", what)
		}
	default:
	}
}

// waitPast returns once the wall clock is past deadline. Used only where a
// case needs a lease's time to run out.
func waitPast(deadline time.Time) {
	for d := time.Until(deadline); d > 0; d = time.Until(deadline) {
		time.Sleep(d)
	}
}

// Fixtures.

func newProject(id string) *core.Project {
	return &core.Project{
		Metadata:    core.ObjectMeta{ID: id, Created: ptr(base)},
		Description: "project " + id,
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{
				Source:     "example.com/gw",
				Types:      []string{"push", "*"},
				Qualifiers: map[string]string{"repo": "demo"},
				Labels:     map[string]string{"team": "a"},
			}},
			WorkerTemplate: core.WorkerSpec{
				Container:          &core.ContainerSpec{Image: "brigadecore/brigade2-worker", Environment: map[string]string{"A": "1"}},
				UseWorkspace:       true,
				WorkspaceSize:      "1Gi",
				Git:                &core.GitConfig{CloneURL: "https://example.com/demo.git", Ref: "main"},
				JobPolicies:        &core.JobPolicies{AllowPrivileged: true},
				LogLevel:           "DEBUG",
				DefaultConfigFiles: map[string]string{"brigade.js": "console.log('hi')"},
			},
		},
		Kubernetes: &core.ProjectKubernetes{Namespace: "brigade-" + id},
	}
}

func mkProject(t *testing.T, s core.Store, id string) *core.Project {
	t.Helper()
	p := newProject(id)
	must(t, s.Projects().Create(t.Context(), p), "create project "+id)
	return p
}

func newEvent(projectID, id string, created time.Time) *core.Event {
	return &core.Event{
		Metadata:  core.ObjectMeta{ID: id, Created: ptr(created)},
		ProjectID: projectID,
		Source:    "example.com/gw",
		Type:      "push",
		Worker: &core.Worker{
			Spec:   core.WorkerSpec{WorkspaceSize: core.DefaultWorkspaceSize, LogLevel: core.DefaultLogLevel},
			Status: core.WorkerStatus{Phase: core.PhasePending},
		},
	}
}

func mkEvent(t *testing.T, s core.Store, projectID, id string, created time.Time) *core.Event {
	t.Helper()
	e := newEvent(projectID, id, created)
	must(t, s.Events().Create(t.Context(), e), "create event "+id)
	return e
}

func newJob(name string) *core.Job {
	return &core.Job{
		Name:    name,
		Created: ptr(base),
		Spec: core.JobSpec{
			PrimaryContainer: core.JobContainerSpec{
				ContainerSpec:    core.ContainerSpec{Image: "alpine", Command: []string{"echo"}, Arguments: []string{name}},
				WorkingDirectory: "/src",
			},
			TimeoutDuration: "1m",
		},
		Status: &core.JobStatus{Phase: core.PhasePending},
	}
}

func mkJob(t *testing.T, s core.Store, eventID, name string) *core.Job {
	t.Helper()
	j := newJob(name)
	must(t, s.Jobs().Create(t.Context(), eventID, j), "create job "+name)
	return j
}

func mkTask(t *testing.T, s core.Store, kind core.TaskKind, projectID, eventID, job string) *core.Task {
	t.Helper()
	task := &core.Task{Kind: kind, ProjectID: projectID, EventID: eventID, JobName: job}
	must(t, s.Queue().Enqueue(t.Context(), task), "enqueue task")
	return task
}

func eventIDs(events []core.Event) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.Metadata.ID
	}
	return ids
}

func projectIDs(ps []core.Project) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.Metadata.ID
	}
	return ids
}

func idf(format string, i int) string { return fmt.Sprintf(format, i) }
