package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/seal"
	"github.com/brigadeplatform/brigade/internal/store/sqlite"
)

// fakeWorkloads records starts; failWorkers makes every worker start fail.
type fakeWorkloads struct {
	mu          sync.Mutex
	started     []string // project of each started worker, in order
	failWorkers bool
	startedCh   chan string
}

func (f *fakeWorkloads) StartWorker(_ context.Context, ev *core.Event, _ string) error {
	if f.failWorkers {
		return errors.New("substrate exploded")
	}
	f.mu.Lock()
	f.started = append(f.started, ev.ProjectID)
	f.mu.Unlock()
	f.startedCh <- ev.Metadata.ID
	return nil
}
func (f *fakeWorkloads) StartJob(context.Context, *core.Event, *core.Job, api.JobEnvironment) error {
	return nil
}
func (f *fakeWorkloads) CleanupWorker(context.Context, string) error      { return nil }
func (f *fakeWorkloads) CleanupJob(context.Context, string, string) error { return nil }
func (f *fakeWorkloads) RunningWorkers(context.Context) (int, error)      { return 0, nil }
func (f *fakeWorkloads) RunningJobs(context.Context) (int, error)         { return 0, nil }

type zeroCounter struct{}

func (zeroCounter) Running(context.Context) (int, int, error) { return 0, 0, nil }

func setup(t *testing.T, fw *fakeWorkloads, cfg Config, projects ...string) (*api.Service, *Scheduler) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := seal.New(make([]byte, seal.KeySize))
	svc := api.New(st, sealer, api.Config{}, fw, nil)
	root := auth.With(t.Context(), auth.Root(""))
	for _, p := range projects {
		if _, err := svc.CreateProject(root, &core.Project{Metadata: core.ObjectMeta{ID: p}, Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "src.example", Types: []string{"*"}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	return svc, New(cfg, svc, zeroCounter{}, slog.New(slog.DiscardHandler))
}

func send(t *testing.T, svc *api.Service, project string, n int) []string {
	t.Helper()
	root := auth.With(t.Context(), auth.Root(""))
	var ids []string
	for i := 0; i < n; i++ {
		evs, err := svc.CreateEvent(root, &core.Event{ProjectID: project, Source: "src.example", Type: "t"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, evs[0].Metadata.ID)
	}
	return ids
}

func TestScheduler(t *testing.T) {
	t.Run("FairAcrossProjects", func(t *testing.T) {
		fw := &fakeWorkloads{startedCh: make(chan string, 100)}
		svc, s := setup(t, fw, Config{}, "busy", "quiet")
		send(t, svc, "busy", 50)
		send(t, svc, "quiet", 5)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx)
		for i := 0; i < 55; i++ {
			select {
			case <-fw.startedCh:
			case <-time.After(10 * time.Second):
				t.Fatalf("only %d of 55 workers started", i)
			}
		}
		lastQuiet := -1
		for i, p := range fw.started {
			if p == "quiet" {
				lastQuiet = i
			}
		}
		if lastQuiet >= 50 {
			t.Fatalf("the quiet project's last worker started %dth: it waited behind the busy one", lastQuiet+1)
		}
	})
	t.Run("FIFOWithinAProject", func(t *testing.T) {
		fw := &fakeWorkloads{startedCh: make(chan string, 100)}
		svc, s := setup(t, fw, Config{}, "only")
		ids := send(t, svc, "only", 10)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx)
		for i, want := range ids {
			select {
			case got := <-fw.startedCh:
				if got != want {
					t.Fatalf("start %d was event %s, want %s", i, got, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("timed out")
			}
		}
	})
	t.Run("RepeatedFailuresEndInSchedulingFailed", func(t *testing.T) {
		fw := &fakeWorkloads{failWorkers: true, startedCh: make(chan string, 1)}
		svc, s := setup(t, fw, Config{RetryDelay: time.Millisecond, MaxAttempts: 3}, "doomed")
		id := send(t, svc, "doomed", 1)[0]
		changes, cancelSub := svc.Store().Subscribe(core.TopicEvent(id))
		defer cancelSub()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		stopped := make(chan struct{})
		go func() { s.Run(ctx); close(stopped) }()
		deadline := time.After(10 * time.Second)
		for {
			ev, err := svc.Store().Events().Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Worker.Status.Phase == core.PhaseSchedulingFailed {
				break
			}
			select {
			case <-changes:
			case <-deadline:
				t.Fatalf("worker stuck in %s", ev.Worker.Status.Phase)
			}
		}
		cancel() // Run returns after the pass that acknowledged the task
		<-stopped
		lines, _ := svc.Store().Logs().Read(t.Context(), core.LogStream{EventID: id, Container: "worker"}, 0, 10)
		if len(lines) != 1 || !contains(lines[0].Message, "substrate exploded") {
			t.Fatalf("worker log %+v", lines)
		}
		if n, _ := svc.Store().Queue().Len(t.Context(), core.TaskWorker); n != 0 {
			t.Fatalf("%d tasks left on the queue", n)
		}
	})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
