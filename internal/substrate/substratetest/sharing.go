package substratetest

import (
	"path/filepath"

	"github.com/brigadeplatform/brigade/internal/core"
)

// mountPath is a workspace mount path that does not exist on the host, so
// that a host-process substrate that creates mount points creates them in
// the test's own temporary folder.
func (e *env) mountPath() string { return filepath.Join(e.t.TempDir(), "workspace") }

// withWorkspace mounts the event's workspace at path in c and makes it c's
// working directory.
func withWorkspace(c core.JobContainerSpec, path string) core.JobContainerSpec {
	c.WorkspaceMountPath = path
	c.WorkingDirectory = path
	return c
}

func sharingCases() []testCase {
	return []testCase{
		{"Workspace/SharedBetweenJobsOfAnEvent", func(e *env) {
			ev := e.event()
			mp := e.mountPath()
			writer := e.job(ev, "writer", "echo shared-content > shared.txt; echo written")
			writer.UseWorkspace = true
			writer.Job.Spec.PrimaryContainer = withWorkspace(writer.Job.Spec.PrimaryContainer, mp)
			st, lines := e.runJob(writer)
			e.expectPhase("writer job", st, core.PhaseSucceeded, 0)
			e.expectLines(jobStream(writer), lines, []string{"written"})

			reader := e.job(ev, "reader", "cat shared.txt")
			reader.UseWorkspace = true
			reader.Job.Spec.PrimaryContainer = withWorkspace(reader.Job.Spec.PrimaryContainer, mp)
			st, lines = e.runJob(reader)
			e.expectPhase("reader job", st, core.PhaseSucceeded, 0)
			e.expectLines(jobStream(reader), lines, []string{"shared-content"})
		}},
		{"Sidecar/RunsBesidePrimaryAndStopsAfterIt", func(e *env) {
			ev := e.event()
			mp := e.mountPath()
			// The primary waits until the sidecar has written its first
			// line, so the sidecar provably ran beside it; the sidecar would
			// then run forever unless the substrate stops it.
			jl := e.job(ev, "with-sidecar", `while ! test -f ready; do sleep 0.1; done; echo primary-done`)
			jl.UseWorkspace = true
			jl.Job.Spec.PrimaryContainer = withWorkspace(jl.Job.Spec.PrimaryContainer, mp)
			jl.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{
				"helper": withWorkspace(shContainer(e.h.Image, `echo "sidecar-up $ROLE"; echo > ready; sleep 1000`), mp),
			}
			jl.Environment["helper"] = map[string]string{"ROLE": "sidecar"}
			side := core.LogStream{EventID: ev, Job: jl.Job.Name, Container: "helper"}
			e.startJob(jl)
			st := e.wait(jobRef(jl), jobStream(jl), side)
			e.expectPhase("job (its sidecar was stopped)", st, core.PhaseSucceeded, 0)
			if st.Stopped {
				e.t.Error("the job reports Stopped although only its sidecar was")
			}
			e.expectLines(jobStream(jl), e.lines(jobStream(jl)), []string{"primary-done"})
			e.expectLines(side, e.lines(side), []string{"sidecar-up sidecar"})
			if _, jobs := e.running(); jobs != 0 {
				e.t.Errorf("Running reports %d jobs after the job and its sidecar ended", jobs)
			}
		}},
		{"Sidecar/OutcomeComesFromPrimaryOnly", func(e *env) {
			ev := e.event()
			failing := e.job(ev, "primary-fails", "exit 3")
			failing.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{
				"healthy": shContainer(e.h.Image, "echo healthy; sleep 1000"),
			}
			st, _ := e.runJob(failing)
			e.expectPhase("job whose primary exits 3 beside a healthy sidecar", st, core.PhaseFailed, 3)

			ok := e.job(ev, "primary-succeeds", "echo primary-ok")
			ok.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{
				"crashing": shContainer(e.h.Image, "echo crashing; exit 7"),
			}
			crash := core.LogStream{EventID: ev, Job: ok.Job.Name, Container: "crashing"}
			e.startJob(ok)
			st = e.wait(jobRef(ok), jobStream(ok), crash)
			e.expectPhase("job whose primary succeeds beside a crashing sidecar", st, core.PhaseSucceeded, 0)
			e.expectLines(crash, e.lines(crash), []string{"crashing"})
		}},
	}
}
