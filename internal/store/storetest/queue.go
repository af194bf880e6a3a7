package storetest

import (
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// queueFixture makes projects p1 and p2, each with events e1..e3.
func queueFixture(t *testing.T, s core.Store) {
	t.Helper()
	for _, p := range []string{"p1", "p2"} {
		mkProject(t, s, p)
		for i := 1; i <= 3; i++ {
			mkEvent(t, s, p, p+idf("-e%d", i), base)
		}
	}
}

func lease(t *testing.T, s core.Store, kind core.TaskKind, project string, ttl time.Duration) *core.Task {
	t.Helper()
	task, err := s.Queue().Lease(t.Context(), kind, project, ttl)
	must(t, err, "lease")
	return task
}

func wantLeased(t *testing.T, task *core.Task, eventID string, attempts int) {
	t.Helper()
	if task == nil {
		t.Fatalf("leased nothing, want the task of %s", eventID)
	}
	if task.EventID != eventID || task.Attempts != attempts {
		t.Fatalf("leased the task of %s with %d attempts, want %s with %d", task.EventID, task.Attempts, eventID, attempts)
	}
}

func wantNothingLeased(t *testing.T, task *core.Task, why string) {
	t.Helper()
	if task != nil {
		t.Fatalf("leased task %d of %s, want nothing: %s", task.ID, task.EventID, why)
	}
}

func queueCases() []testCase {
	return []testCase{
		{"Queue/EnqueueSetsIDAndCreated", func(t *testing.T, s core.Store) {
			queueFixture(t, s)
			a := mkTask(t, s, core.TaskWorker, "p1", "p1-e1", "")
			b := mkTask(t, s, core.TaskJob, "p1", "p1-e1", "build")
			if a.ID == 0 || b.ID == 0 || a.ID == b.ID {
				t.Fatalf("task ids %d and %d, want distinct non-zero ids", a.ID, b.ID)
			}
			if a.Created.IsZero() || time.Since(a.Created) > time.Hour {
				t.Fatalf("created = %v, want about now", a.Created)
			}
			got := lease(t, s, core.TaskJob, "p1", time.Hour)
			wantLeased(t, got, "p1-e1", 0)
			wantEqual(t, []any{got.ID, got.Kind, got.ProjectID, got.JobName}, []any{b.ID, core.TaskJob, "p1", "build"}, "leased job task")
			wantTime(t, &got.Created, b.Created, "created")
		}},
		{"Queue/EnqueueForMissingEventIsNotFound", func(t *testing.T, s core.Store) {
			mkProject(t, s, "p1")
			err := s.Queue().Enqueue(t.Context(), &core.Task{Kind: core.TaskWorker, ProjectID: "p1", EventID: "nope"})
			wantNotFound(t, err, "Event")
		}},
		{"Queue/LeaseOnEmptyQueueReturnsNil", func(t *testing.T, s core.Store) {
			queueFixture(t, s)
			wantNothingLeased(t, lease(t, s, core.TaskWorker, "", time.Hour), "the queue is empty")
			wantNothingLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), "the queue is empty")
		}},
		{"Queue/FIFOPerProject", func(t *testing.T, s core.Store) {
			queueFixture(t, s)
			for _, e := range []string{"p1-e2", "p2-e1", "p1-e1", "p1-e3"} {
				mkTask(t, s, core.TaskWorker, e[:2], e, "")
			}
			for _, want := range []string{"p1-e2", "p1-e1", "p1-e3"} {
				wantLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), want, 0)
			}
			wantNothingLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), "p1's tasks are all leased")
			wantLeased(t, lease(t, s, core.TaskWorker, "p2", time.Hour), "p2-e1", 0)
		}},
		{"Queue/LeaseAnyProjectTakesTheOldest", func(t *testing.T, s core.Store) {
			queueFixture(t, s)
			for _, e := range []string{"p2-e1", "p1-e1", "p2-e2"} {
				mkTask(t, s, core.TaskWorker, e[:2], e, "")
			}
			for _, want := range []string{"p2-e1", "p1-e1", "p2-e2"} {
				wantLeased(t, lease(t, s, core.TaskWorker, "", time.Hour), want, 0)
			}
		}},
		{"Queue/KindsAreSeparate", func(t *testing.T, s core.Store) {
			queueFixture(t, s)
			mkTask(t, s, core.TaskJob, "p1", "p1-e1", "build")
			wantNothingLeased(t, lease(t, s, core.TaskWorker, "", time.Hour), "only a job task is queued")
			wantLeased(t, lease(t, s, core.TaskJob, "", time.Hour), "p1-e1", 0)
		}},
		{"Queue/LeasedTaskIsNotLeasedAgainUntilItsTTLExpires", func(t *testing.T, s core.Store) {
			queueFixture(t, s)
			mkTask(t, s, core.TaskWorker, "p1", "p1-e1", "")
			mkTask(t, s, core.TaskWorker, "p2", "p2-e1", "")
			wantLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), "p1-e1", 0)
			wantNothingLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), "the lease holds for an hour")
			const ttl = 20 * time.Millisecond
			wantLeased(t, lease(t, s, core.TaskWorker, "p2", ttl), "p2-e1", 0)
			waitPast(time.Now().Add(ttl + time.Millisecond)) // the lease began before now
			wantLeased(t, lease(t, s, core.TaskWorker, "p2", time.Hour), "p2-e1", 1)
		}},
		{"Queue/NackMakesATaskLeasableAfterTheDelay", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			queueFixture(t, s)
			mkTask(t, s, core.TaskWorker, "p1", "p1-e1", "")
			mkTask(t, s, core.TaskWorker, "p1", "p1-e2", "")
			first := lease(t, s, core.TaskWorker, "p1", time.Hour)
			second := lease(t, s, core.TaskWorker, "p1", time.Hour)
			must(t, s.Queue().Nack(ctx, first.ID, 0), "nack without delay")
			wantLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), "p1-e1", 1)
			must(t, s.Queue().Nack(ctx, second.ID, time.Hour), "nack with an hour's delay")
			wantNothingLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), "the nacked task waits an hour")
			ready, err := s.Queue().Ready(ctx, core.TaskWorker)
			must(t, err, "ready")
			wantEqual(t, len(ready), 0, "ready projects while the only task waits")
			wantNotFound(t, s.Queue().Nack(ctx, 999999, 0), "Task")
		}},
		{"Queue/ExtendPushesTheLeaseOut", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			queueFixture(t, s)
			mkTask(t, s, core.TaskWorker, "p1", "p1-e1", "")
			const ttl = 20 * time.Millisecond
			task := lease(t, s, core.TaskWorker, "p1", ttl)
			expired := time.Now().Add(ttl + time.Millisecond) // the lease began before now
			must(t, s.Queue().Extend(ctx, task.ID, time.Hour), "extend")
			waitPast(expired)
			wantNothingLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), "the lease was extended")
			wantNotFound(t, s.Queue().Extend(ctx, 999999, time.Hour), "Task")
		}},
		{"Queue/AckRemovesTheTask", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			queueFixture(t, s)
			mkTask(t, s, core.TaskWorker, "p1", "p1-e1", "")
			task := lease(t, s, core.TaskWorker, "p1", time.Hour)
			must(t, s.Queue().Ack(ctx, task.ID), "ack")
			n, err := s.Queue().Len(ctx, core.TaskWorker)
			must(t, err, "len")
			wantEqual(t, n, 0, "tasks after ack")
			wantNotFound(t, s.Queue().Ack(ctx, task.ID), "Task")
			wantNotFound(t, s.Queue().Nack(ctx, task.ID, 0), "Task")
		}},
		{"Queue/AttemptsCountEveryLease", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			queueFixture(t, s)
			mkTask(t, s, core.TaskWorker, "p1", "p1-e1", "")
			for want := range 4 {
				task := lease(t, s, core.TaskWorker, "", time.Hour)
				wantLeased(t, task, "p1-e1", want)
				must(t, s.Queue().Nack(ctx, task.ID, 0), "nack")
			}
		}},
		{"Queue/ReadyListsProjectsWithLeasableTasksByID", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			queueFixture(t, s)
			mkProject(t, s, "p0")
			mkEvent(t, s, "p0", "p0-e1", base)
			mkTask(t, s, core.TaskWorker, "p2", "p2-e1", "")
			mkTask(t, s, core.TaskWorker, "p1", "p1-e1", "")
			mkTask(t, s, core.TaskWorker, "p1", "p1-e2", "")
			mkTask(t, s, core.TaskWorker, "p0", "p0-e1", "")
			mkTask(t, s, core.TaskJob, "p2", "p2-e1", "build")
			ready, err := s.Queue().Ready(ctx, core.TaskWorker)
			must(t, err, "ready")
			wantEqual(t, ready, []string{"p0", "p1", "p2"}, "ready projects")
			wantLeased(t, lease(t, s, core.TaskWorker, "p0", time.Hour), "p0-e1", 0)
			ready, err = s.Queue().Ready(ctx, core.TaskWorker)
			must(t, err, "ready")
			wantEqual(t, ready, []string{"p1", "p2"}, "ready projects once p0's only task is leased")
			wantLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), "p1-e1", 0)
			ready, err = s.Queue().Ready(ctx, core.TaskWorker)
			must(t, err, "ready")
			wantEqual(t, ready, []string{"p1", "p2"}, "ready projects while p1 has one task leased and one ready")
			wantLeased(t, lease(t, s, core.TaskWorker, "p1", time.Hour), "p1-e2", 0)
			ready, err = s.Queue().Ready(ctx, core.TaskWorker)
			must(t, err, "ready")
			wantEqual(t, ready, []string{"p2"}, "ready projects once p1's tasks are all leased (p0's and p1's wait between)")
			ready, err = s.Queue().Ready(ctx, core.TaskJob)
			must(t, err, "ready")
			wantEqual(t, ready, []string{"p2"}, "projects with job tasks")
		}},
		{"Queue/LenCountsLeasedAndWaitingTasksOfAKind", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			queueFixture(t, s)
			mkTask(t, s, core.TaskWorker, "p1", "p1-e1", "")
			mkTask(t, s, core.TaskWorker, "p2", "p2-e1", "")
			mkTask(t, s, core.TaskJob, "p2", "p2-e1", "build")
			lease(t, s, core.TaskWorker, "p1", time.Hour)
			n, err := s.Queue().Len(ctx, core.TaskWorker)
			must(t, err, "len")
			wantEqual(t, n, 2, "worker tasks")
			n, err = s.Queue().Len(ctx, core.TaskJob)
			must(t, err, "len")
			wantEqual(t, n, 1, "job tasks")
		}},
	}
}
