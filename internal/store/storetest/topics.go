package storetest

import (
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// topicCases cover the narrow topics: TopicWorker for an event and its
// worker, TopicJob for one job; both also notify TopicEvent.
func topicCases() []testCase {
	return []testCase{
		{"Topics/EventAndWorkerWritesNotifyTheWorkerTopicNotTheJobs", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			worker := subscribe(t, s, core.TopicWorker("e1"))
			mkEvent(t, s, "demo", "e1", base)
			waitNotified(t, worker, "event create")
			mkJob(t, s, "e1", "build")
			job := subscribe(t, s, core.TopicJob("e1", "build"))
			steps := []struct {
				what string
				do   func() error
			}{
				{"worker status", func() error {
					return s.Events().UpdateWorkerStatus(ctx, "e1", core.PhasePending, core.WorkerStatus{Phase: core.PhaseStarting})
				}},
				{"summary", func() error { return s.Events().SetSummary(ctx, "e1", "s") }},
				{"source state", func() error { return s.Events().SetSourceState(ctx, "e1", &core.SourceState{}) }},
			}
			for _, step := range steps {
				must(t, step.do(), step.what)
				waitNotified(t, worker, step.what)
			}
			barrier(t, s)
			wantNoNotification(t, job, "writes of the event and its worker")
			must(t, s.Events().Delete(ctx, "e1"), "event delete")
			waitNotified(t, worker, "event delete")
		}},
		{"Topics/JobWritesNotifyThatJobsTopicAlone", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			worker := subscribe(t, s, core.TopicWorker("e1"))
			build := subscribe(t, s, core.TopicJob("e1", "build"))
			other := subscribe(t, s, core.TopicJob("e1", "other"))
			event := subscribe(t, s, core.TopicEvent("e1"))
			mkJob(t, s, "e1", "build")
			waitNotified(t, build, "job create")
			waitNotified(t, event, "job create")
			must(t, s.Jobs().UpdateStatus(ctx, "e1", "build", core.PhasePending, core.JobStatus{Phase: core.PhaseRunning}), "job status")
			waitNotified(t, build, "job status")
			must(t, s.Jobs().Replace(ctx, "e1", newJob("build")), "job replace")
			waitNotified(t, build, "job replace")
			barrier(t, s)
			wantNoNotification(t, worker, "writes of a job")
			wantNoNotification(t, other, "writes of another job")
		}},
		{"Topics/AnEventCreatedWithJobsNotifiesTheirTopics", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			job := subscribe(t, s, core.TopicJob("e1", "inherited"))
			e := newEvent("demo", "e1", base)
			e.Worker.Jobs = []core.Job{*newJob("inherited")}
			must(t, s.Events().Create(t.Context(), e), "create event with a job")
			waitNotified(t, job, "event create")
		}},
		{"Topics/ProjectDeleteNotifiesItsEventsWorkerTopics", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			ch := subscribe(t, s, core.TopicWorker("e1"))
			must(t, s.Projects().Delete(t.Context(), "demo"), "delete project")
			waitNotified(t, ch, "the project's deletion")
		}},
	}
}
