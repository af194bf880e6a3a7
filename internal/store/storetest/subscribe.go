package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func subscribe(t *testing.T, s core.Store, topic string) <-chan struct{} {
	t.Helper()
	ch, cancel := s.Subscribe(topic)
	t.Cleanup(cancel)
	return ch
}

// barrier commits a write to a topic nobody else uses and waits for its
// notification. Stores deliver notifications in commit order, so once it
// arrives every notification of an earlier commit has been delivered too.
func barrier(t *testing.T, s core.Store) {
	t.Helper()
	mkProject(t, s, "barrier")
	mkEvent(t, s, "barrier", "barrier-e", base)
	ch := subscribe(t, s, core.TopicEvent("barrier-e"))
	must(t, s.Events().SetSummary(t.Context(), "barrier-e", "x"), "barrier write")
	waitNotified(t, ch, "the barrier write")
}

func subscribeCases() []testCase {
	return []testCase{
		{"Subscribe/EventWritesNotifyTheEventTopic", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			e1 := subscribe(t, s, core.TopicEvent("e1"))
			e2 := subscribe(t, s, core.TopicEvent("e2"))
			mkEvent(t, s, "demo", "e1", base)
			waitNotified(t, e1, "event create")
			steps := []struct {
				what string
				do   func() error
			}{
				{"worker status", func() error {
					return s.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending, core.WorkerStatus{Phase: core.PhaseStarting})
				}},
				{"summary", func() error { return s.Events().SetSummary(ctx, "e1", "s") }},
				{"source state", func() error { return s.Events().SetSourceState(ctx, "e1", &core.SourceState{}) }},
				{"job create", func() error { return s.Jobs().Create(ctx, "e1", newJob("build")) }},
				{"job status", func() error {
					return s.Jobs().UpdateStatus(ctx, "e1", "build", core.PhasePending, core.JobStatus{Phase: core.PhaseRunning})
				}},
				{"job replace", func() error { return s.Jobs().Replace(ctx, "e1", newJob("build")) }},
				{"event delete", func() error { return s.Events().Delete(ctx, "e1") }},
			}
			for _, step := range steps {
				must(t, step.do(), step.what)
				waitNotified(t, e1, step.what)
			}
			barrier(t, s)
			wantNoNotification(t, e2, "an event nobody wrote")
		}},
		{"Subscribe/ProjectDeleteNotifiesItsEvents", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			ch := subscribe(t, s, core.TopicEvent("e1"))
			must(t, s.Projects().Delete(t.Context(), "demo"), "delete project")
			waitNotified(t, ch, "the project's deletion")
		}},
		{"Subscribe/LogWritesNotifyTheLogsTopic", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			ch := subscribe(t, s, core.TopicLogs("e1"))
			st := core.LogStream{EventID: "e1", Job: "build", Container: "build"}
			must(t, s.Logs().Append(ctx, st, lines("x")), "append")
			waitNotified(t, ch, "log append")
			must(t, s.Logs().Close(ctx, st), "close stream")
			waitNotified(t, ch, "log close")
		}},
		{"Subscribe/EnqueueAndNackNotifyTheQueue", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			ch := subscribe(t, s, core.TopicQueue)
			task := mkTask(t, s, core.TaskWorker, "demo", "e1", "")
			waitNotified(t, ch, "enqueue")
			lease(t, s, core.TaskWorker, "demo", 0)
			must(t, s.Queue().Nack(ctx, task.ID, 0), "nack")
			waitNotified(t, ch, "nack")
		}},
		{"Subscribe/QueueTopicsPerKind", func(t *testing.T, s core.Store) {
			// A task queued notifies its kind's topic, not the other's;
			// one put back notifies both (the store need not read its
			// kind); a lease and an acknowledgement neither.
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			barrier(t, s) // makes the barrier's event; settle writes to it
			n := 0
			settle := func() {
				t.Helper()
				n++
				ch := subscribe(t, s, core.TopicEvent("barrier-e"))
				must(t, s.Events().SetSummary(ctx, "barrier-e", fmt.Sprint(n)), "barrier write")
				waitNotified(t, ch, "the barrier write")
			}
			jobs := subscribe(t, s, core.TopicQueueOf(core.TaskJob))
			workers := subscribe(t, s, core.TopicQueueOf(core.TaskWorker))
			task := mkTask(t, s, core.TaskWorker, "demo", "e1", "")
			waitNotified(t, workers, "a worker task queued")
			settle()
			wantNoNotification(t, jobs, "a worker task queued")
			mkTask(t, s, core.TaskJob, "demo", "e1", "build")
			waitNotified(t, jobs, "a job task queued")
			settle()
			wantNoNotification(t, workers, "a job task queued")
			lease(t, s, core.TaskWorker, "demo", time.Minute)
			must(t, s.Queue().Nack(ctx, task.ID, 0), "nack")
			waitNotified(t, workers, "a worker task put back")
			waitNotified(t, jobs, "a task put back")
			lease(t, s, core.TaskWorker, "demo", time.Minute)
			must(t, s.Queue().Ack(ctx, task.ID), "ack")
			settle()
			wantNoNotification(t, workers, "a task leased and acknowledged")
			wantNoNotification(t, jobs, "a task leased and acknowledged")
		}},
		{"Subscribe/RolledBackTxNotifiesNothing", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			ev := subscribe(t, s, core.TopicEvent("e1"))
			logs := subscribe(t, s, core.TopicLogs("e1"))
			queue := subscribe(t, s, core.TopicQueue)
			err := s.Tx(t.Context(), func(ctx context.Context) error {
				if err := s.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending, core.WorkerStatus{Phase: core.PhaseStarting}); err != nil {
					return err
				}
				if err := s.Logs().Append(ctx, core.LogStream{EventID: "e1", Container: "worker"}, lines("x")); err != nil {
					return err
				}
				if err := s.Queue().Enqueue(ctx, &core.Task{Kind: core.TaskWorker, ProjectID: "demo", EventID: "e1"}); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Tx returned %v, want fn's error", err)
			}
			barrier(t, s)
			wantNoNotification(t, ev, "a rolled-back worker status")
			wantNoNotification(t, logs, "rolled-back log lines")
			wantNoNotification(t, queue, "a rolled-back enqueue")
		}},
		{"Subscribe/NotificationComesAfterTheCommitIsVisible", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			ch := subscribe(t, s, core.TopicEvent("e1"))
			errc := make(chan error, 1)
			go func() {
				errc <- s.Events().UpdateWorkerStatus(context.Background(), "e1", core.PhasePending, core.WorkerStatus{Phase: core.PhaseRunning})
			}()
			waitNotified(t, ch, "worker status")
			e, err := s.Events().Get(t.Context(), "e1")
			must(t, err, "get event")
			wantEqual(t, e.Worker.Status.Phase, core.PhaseRunning, "phase read right after the notification")
			must(t, <-errc, "update worker status")
		}},
		{"Subscribe/UnreadNotificationsCoalesceAndNeverBlockWriters", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			ch, cancel := s.Subscribe(core.TopicEvent("e1"))
			for i := range 30 {
				must(t, s.Events().SetSummary(ctx, "e1", idf("s%d", i)), "set summary")
			}
			waitNotified(t, ch, "30 summaries")
			cancel()
			cancel()
			for i := range 5 {
				must(t, s.Events().SetSummary(ctx, "e1", idf("after cancel %d", i)), "set summary after cancel")
			}
		}},
	}
}
