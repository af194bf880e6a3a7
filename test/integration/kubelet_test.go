package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/substrate/kubernetes"
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

// TestKubernetesOnRealKubelet runs a v2 script through the real server on
// the kubernetes substrate with its jobs as pods on a real kubelet, twice
// on one cluster: with the worker a host process of the server, and with
// the worker a pod of our own image (build/image.sh, moved from dockerd
// into the kubelet's containerd without a registry) that reaches the API
// across the pod network. Either way the jobs' logs stream back through
// the API as the containers wrote them, and the event succeeds.
func TestKubernetesOnRealKubelet(t *testing.T) {
	cluster := kube.Start(t, kube.Options{Kubelet: true})
	t.Run("WorkerOnHost", func(t *testing.T) {
		runOnKubelet(t, server.KubeConfig{Kubeconfig: cluster.Kubeconfig, Owner: "kubelet-host"}, "", nil)
	})
	t.Run("WorkerAsPod", func(t *testing.T) {
		// Our image, as `make image` builds it (the Dockerfile's prebuilt
		// target, with dockerd), moved into the kubelet's containerd.
		testenv.NeedDocker(t)
		b := make([]byte, 4)
		rand.Read(b)
		image := "brigade-test/brigade:e2e-" + hex.EncodeToString(b)
		build := exec.CommandContext(t.Context(), "bash", "../../build/image.sh")
		build.Env = append(os.Environ(), "IMAGE="+image)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build/image.sh: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
		archive := filepath.Join(t.TempDir(), "image.tar")
		if out, err := exec.CommandContext(t.Context(), "docker", "save", "-o", archive, image).CombinedOutput(); err != nil {
			t.Fatalf("docker save: %v\n%s", err, out)
		}
		if err := cluster.ImportArchive(archive); err != nil {
			t.Fatal(err)
		}
		// Listening on the node's address, the one pods reach.
		runOnKubelet(t, server.KubeConfig{Kubeconfig: cluster.Kubeconfig, Owner: "kubelet-pod",
			Workers: server.KubeWorkersPod, Image: image}, cluster.HostIP+":0", func(ns, event string) {
			// The worker was that image's pod, and it ended well.
			pod, err := cluster.Client.CoreV1().Pods(ns).Get(t.Context(), kubernetes.WorkerPodName(event), metav1.GetOptions{})
			if err != nil {
				t.Fatalf("the worker's pod: %v", err)
			}
			if len(pod.Status.ContainerStatuses) != 1 || pod.Spec.Containers[0].Image != image {
				t.Fatalf("the worker's pod runs %+v with statuses %+v, want our image's one container", pod.Spec.Containers, pod.Status.ContainerStatuses)
			}
			if st := pod.Status.ContainerStatuses[0].State.Terminated; st == nil || st.ExitCode != 0 {
				t.Errorf("the worker's container ended %+v, want exit code 0", pod.Status.ContainerStatuses[0].State)
			}
		})
	})
}

// runOnKubelet runs kubeletScript through a server on the kubernetes
// substrate kc, listening on addr (default: loopback), in a project named
// for kc.Owner; check, if any, then looks at the event's namespace.
func runOnKubelet(t *testing.T, kc server.KubeConfig, addr string, check func(namespace, event string)) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*deadline)
	defer cancel()
	srv, _ := testenv.Server(t, server.Config{RootPassword: "integration-password", CleanupDelay: time.Hour,
		Addr: addr, Substrate: "kubernetes", Kube: kc})
	c, err := testenv.RootClient(ctx, srv, "integration-password")
	if err != nil {
		t.Fatal(err)
	}
	p := &core.Project{Metadata: core.ObjectMeta{ID: kc.Owner}, Spec: core.ProjectSpec{
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
	if check != nil {
		check("brigade-"+p.Metadata.ID, id)
	}
}
