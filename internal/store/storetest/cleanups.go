package storetest

import (
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func wantCleanups(t *testing.T, s core.Store, now time.Time, want ...core.Cleanup) {
	t.Helper()
	got, err := s.Cleanups().Due(t.Context(), now, 100)
	must(t, err, "due cleanups")
	if len(got) != len(want) {
		t.Fatalf("due cleanups at %v: %v, want %v", now, got, want)
	}
	for i := range got {
		if got[i].EventID != want[i].EventID || !got[i].Due.Equal(want[i].Due) {
			t.Fatalf("due cleanup %d at %v: %v, want %v", i, now, got[i], want[i])
		}
	}
}

func cleanupCases() []testCase {
	t0 := base
	return []testCase{
		{"Cleanups/DueInTimeOrderAndOnlyWhenDue", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			must(t, s.Cleanups().Schedule(ctx, "late", t0.Add(2*time.Minute)), "schedule")
			must(t, s.Cleanups().Schedule(ctx, "early", t0.Add(time.Minute)), "schedule")
			wantCleanups(t, s, t0)
			wantCleanups(t, s, t0.Add(time.Minute), core.Cleanup{EventID: "early", Due: t0.Add(time.Minute)})
			wantCleanups(t, s, t0.Add(time.Hour),
				core.Cleanup{EventID: "early", Due: t0.Add(time.Minute)}, core.Cleanup{EventID: "late", Due: t0.Add(2 * time.Minute)})
			next, ok, err := s.Cleanups().Next(ctx)
			must(t, err, "next")
			if !ok || !next.Equal(t0.Add(time.Minute)) {
				t.Fatalf("next cleanup at %v (%v), want %v", next, ok, t0.Add(time.Minute))
			}
		}},
		{"Cleanups/ScheduleKeepsTheEarlierTime", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			must(t, s.Cleanups().Schedule(ctx, "e", t0.Add(time.Minute)), "schedule")
			must(t, s.Cleanups().Schedule(ctx, "e", t0.Add(time.Hour)), "schedule later")
			wantCleanups(t, s, t0.Add(time.Minute), core.Cleanup{EventID: "e", Due: t0.Add(time.Minute)})
			must(t, s.Cleanups().Schedule(ctx, "e", t0), "schedule sooner")
			wantCleanups(t, s, t0, core.Cleanup{EventID: "e", Due: t0})
		}},
		{"Cleanups/OutliveTheirEvent", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "p1")
			mkEvent(t, s, "p1", "e1", base)
			must(t, s.Cleanups().Schedule(ctx, "e1", t0), "schedule")
			must(t, s.Projects().Delete(ctx, "p1"), "delete project")
			wantCleanups(t, s, t0, core.Cleanup{EventID: "e1", Due: t0})
		}},
		{"Cleanups/DoneAndRetryLeaveARescheduledEntry", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			must(t, s.Cleanups().Schedule(ctx, "e", t0.Add(time.Minute)), "schedule")
			taken := core.Cleanup{EventID: "e", Due: t0.Add(time.Minute)}
			must(t, s.Cleanups().Schedule(ctx, "e", t0), "scheduled sooner meanwhile")
			must(t, s.Cleanups().Done(ctx, taken), "done with the old entry")
			must(t, s.Cleanups().Retry(ctx, taken, t0.Add(time.Hour)), "retry the old entry")
			wantCleanups(t, s, t0, core.Cleanup{EventID: "e", Due: t0})
			now := core.Cleanup{EventID: "e", Due: t0}
			must(t, s.Cleanups().Retry(ctx, now, t0.Add(time.Hour)), "retry")
			wantCleanups(t, s, t0.Add(time.Minute))
			wantCleanups(t, s, t0.Add(time.Hour), core.Cleanup{EventID: "e", Due: t0.Add(time.Hour)})
			must(t, s.Cleanups().Done(ctx, core.Cleanup{EventID: "e", Due: t0.Add(time.Hour)}), "done")
			wantCleanups(t, s, t0.Add(24*time.Hour))
			if _, ok, err := s.Cleanups().Next(ctx); err != nil || ok {
				t.Fatalf("next cleanup: ok=%v err=%v, want none", ok, err)
			}
		}},
		{"Cleanups/ScheduleNotifies", func(t *testing.T, s core.Store) {
			ch, cancel := s.Subscribe(core.TopicCleanup)
			defer cancel()
			must(t, s.Cleanups().Schedule(t.Context(), "e", t0), "schedule")
			select {
			case <-ch:
			case <-time.After(notifyTimeout):
				t.Fatal("no notification on the cleanup topic after Schedule")
			}
		}},
		{"Queue/NextDueSkipsReadyTasks", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			queueFixture(t, s)
			mkTask(t, s, core.TaskWorker, "p1", "p1-e1", "")
			a := mkTask(t, s, core.TaskWorker, "p1", "p1-e2", "")
			b := mkTask(t, s, core.TaskWorker, "p2", "p2-e1", "")
			// Two put-back tasks with different due times: both are found;
			// the task that is ready now is not.
			must(t, s.Queue().Nack(ctx, a.ID, time.Hour), "nack a")
			must(t, s.Queue().Nack(ctx, b.ID, 2*time.Hour), "nack b")
			now := time.Now()
			due, ok, err := s.Queue().NextDue(ctx, core.TaskWorker, now)
			must(t, err, "next due")
			if !ok || due.Before(now.Add(50*time.Minute)) || due.After(now.Add(70*time.Minute)) {
				t.Fatalf("next due worker task at %v (ok %v), want about an hour from %v", due, ok, now)
			}
			due, ok, err = s.Queue().NextDue(ctx, core.TaskWorker, due)
			must(t, err, "next due after the first")
			if !ok || due.Before(now.Add(110*time.Minute)) {
				t.Fatalf("second due worker task at %v (ok %v), want about two hours from %v", due, ok, now)
			}
			if _, ok, err := s.Queue().NextDue(ctx, core.TaskJob, now); err != nil || ok {
				t.Fatalf("next due job task: ok=%v err=%v, want none", ok, err)
			}
		}},
	}
}
