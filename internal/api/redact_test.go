package api

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// headCounting counts the reads of event heads.
type headCounting struct {
	core.Store
	heads *atomic.Int64
}

func (s headCounting) Events() core.EventStore {
	return headCountingEvents{s.Store.Events(), s.heads}
}

type headCountingEvents struct {
	core.EventStore
	heads *atomic.Int64
}

func (e headCountingEvents) Head(ctx context.Context, id string) (*core.Event, error) {
	e.heads.Add(1)
	return e.EventStore.Head(ctx, id)
}

func TestStartedWorkersLinesAreRedactedWithoutReadingTheEvent(t *testing.T) {
	st := openStore(t)
	heads := &atomic.Int64{}
	svc := New(headCounting{st, heads}, testSealer(), Config{}, nil)
	root := auth.With(t.Context(), auth.Root(""))
	if _, err := svc.CreateProject(root, &core.Project{Metadata: core.ObjectMeta{ID: "p"},
		Spec: core.ProjectSpec{EventSubscriptions: []core.EventSubscription{{Source: "test", Types: []string{"run"}}}}}); err != nil {
		t.Fatal(err)
	}
	const secret = "a-secret-value-0123"
	if err := svc.SetSecret(root, "p", "token", &core.Secret{Key: "token", Value: secret}); err != nil {
		t.Fatal(err)
	}
	event := func() string {
		evs, err := svc.CreateEvent(root, &core.Event{ProjectID: "p", Source: "test", Type: "run"})
		if err != nil || len(evs) != 1 {
			t.Fatalf("creating an event: %v, %d events", err, len(evs))
		}
		return evs[0].Metadata.ID
	}
	redacted := func(id string) {
		t.Helper()
		out, err := svc.RedactLogs(t.Context(), id, []core.LogEntry{{Message: "the token is " + secret}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out[0].Message, secret) {
			t.Fatalf("the secret is in the stored line %q", out[0].Message)
		}
	}

	started, waiting := event(), event()
	if _, err := svc.StartWorker(auth.With(t.Context(), auth.Scheduler()), started); err != nil {
		t.Fatal(err)
	}
	heads.Store(0)
	redacted(started)
	if n := heads.Load(); n != 0 {
		t.Fatalf("the lines of a worker this service started read the event %d times, want 0: StartWorker tells the redactor its project", n)
	}
	// An event the service did not start (another replica's, or one
	// started before a restart) is read once, then known.
	redacted(waiting)
	redacted(waiting)
	if n := heads.Load(); n != 1 {
		t.Fatalf("the lines of another event read it %d times, want 1", n)
	}
}
