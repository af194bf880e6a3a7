package storetest

import (
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

func jobEnvCases() []testCase {
	return []testCase{
		{"Jobs/EnvironmentIsKeptBesideTheJob", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkJob(t, s, "e1", "build")
			got, err := s.Jobs().Environment(t.Context(), "e1", "build")
			must(t, err, "read unset environment")
			wantEqual(t, len(got), 0, "unset environment")
			must(t, s.Jobs().SetEnvironment(t.Context(), "e1", "build", []byte{1, 2, 3}), "set environment")
			got, err = s.Jobs().Environment(t.Context(), "e1", "build")
			must(t, err, "read environment")
			wantEqual(t, got, []byte{1, 2, 3}, "environment")
			// Replacing the job keeps its environment.
			must(t, s.Jobs().Replace(t.Context(), "e1", newJob("build")), "replace")
			got, _ = s.Jobs().Environment(t.Context(), "e1", "build")
			wantEqual(t, got, []byte{1, 2, 3}, "environment after replace")
		}},
		{"Jobs/EnvironmentOfMissingJobIsNotFound", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			wantNotFound(t, s.Jobs().SetEnvironment(t.Context(), "e1", "nope", []byte{1}), "Job")
			_, err := s.Jobs().Environment(t.Context(), "e1", "nope")
			wantNotFound(t, err, "Job")
		}},
		{"Jobs/CountInPhases", func(t *testing.T, s core.Store) {
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			mkEvent(t, s, "demo", "e2", base)
			mkJob(t, s, "e1", "a")
			mkJob(t, s, "e1", "b")
			mkJob(t, s, "e2", "c")
			must(t, s.Jobs().UpdateStatus(t.Context(), "e1", "a", core.PhasePending,
				core.JobStatus{Phase: core.PhaseRunning}), "run a")
			must(t, s.Jobs().UpdateStatus(t.Context(), "e2", "c", core.PhasePending,
				core.JobStatus{Phase: core.PhaseStarting}), "start c")
			n, err := s.Jobs().CountInPhases(t.Context(), []core.JobPhase{core.PhaseStarting, core.PhaseRunning})
			must(t, err, "count")
			wantEqual(t, n, 2, "running jobs")
			n, _ = s.Jobs().CountInPhases(t.Context(), nil)
			wantEqual(t, n, 0, "no phases")
		}},
	}
}
