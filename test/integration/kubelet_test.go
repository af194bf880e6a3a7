package integration_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
	"github.com/brigadeplatform/brigade/internal/testenv/kube"
)

// A v2 script whose jobs run as real containers (a real kubelet,
// containerd and runc): two jobs, the second reading what the first wrote
// into the event's workspace.
const kubeletScript = `import { events, Job } from "@brigadecore/brigadier"

events.on("brigade.sh/cli", "exec", async event => {
  const writer = new Job("writer", "` + kube.BusyboxImage + `", event)
  writer.primaryContainer.workspaceMountPath = "/work"
  writer.primaryContainer.command = ["sh"]
  writer.primaryContainer.arguments = ["-c", "echo from a real container: $(cat /proc/1/comm); seq 1 3; echo shared > /work/note"]
  await writer.run()
  const reader = new Job("reader", "` + kube.BusyboxImage + `", event)
  reader.primaryContainer.workspaceMountPath = "/work"
  reader.primaryContainer.command = ["cat", "/work/note"]
  await reader.run()
})

events.process()
`

// TestKubernetesJobsOnRealKubelet runs a v2 script through the real server
// on the kubernetes substrate, the worker a host process and the jobs pods
// on a real kubelet: the jobs' logs stream back through the API as the
// containers wrote them, and the event succeeds.
func TestKubernetesJobsOnRealKubelet(t *testing.T) {
	cluster := kube.Start(t, kube.Options{Kubelet: true})
	ctx, cancel := context.WithTimeout(t.Context(), 2*deadline)
	defer cancel()
	srv, _ := testenv.Server(t, server.Config{RootPassword: "integration-password", CleanupDelay: time.Hour,
		Substrate: "kubernetes", Kube: server.KubeConfig{Kubeconfig: cluster.Kubeconfig, Owner: "kubelet-e2e"}})
	c, err := testenv.RootClient(ctx, srv, "integration-password")
	if err != nil {
		t.Fatal(err)
	}
	p := &core.Project{Metadata: core.ObjectMeta{ID: "on-kubelet"}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
		WorkerTemplate: core.WorkerSpec{UseWorkspace: true, DefaultConfigFiles: map[string]string{
			"brigade.js": kubeletScript,
		}},
	}}
	if _, err := c.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: p.Metadata.ID, Source: "brigade.sh/cli", Type: "exec"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating the event: %v (%d events)", err, len(evs))
	}
	id := evs[0].Metadata.ID
	// logOf follows a log to its end, once its job exists.
	logOf := func(opts client.LogOptions) string {
		opts.Follow = true
		var text string
		waitUntil(t, ctx, "the log of job "+opts.Job, func() error {
			lines, errs := c.Logs(ctx, id, opts)
			var sb strings.Builder
			for l := range lines {
				if !strings.HasPrefix(l.Message, "[brigade] ") {
					sb.WriteString(l.Message + "\n")
				}
			}
			if err := <-errs; err != nil {
				if strings.Contains(err.Error(), "not found") {
					return err // not created yet
				}
				t.Fatalf("reading the log %+v: %v", opts, err)
			}
			text = sb.String()
			return nil
		})
		return text
	}
	// Followed while the job runs: the lines come as the container writes them.
	if got, want := logOf(client.LogOptions{Job: "writer"}), "from a real container: sh\n1\n2\n3\n"; got != want {
		t.Errorf("the writer's log is %q, want %q", got, want)
	}
	phase := finalPhase(ctx, t, c, id)
	if phase != core.PhaseSucceeded {
		t.Errorf("the event ended %s, want SUCCEEDED; the worker's log:\n%s", phase, logOf(client.LogOptions{}))
	}
	if got := logOf(client.LogOptions{Job: "reader"}); got != "shared\n" {
		t.Errorf("the reader's log is %q, want the note the writer left in the workspace", got)
	}
}
