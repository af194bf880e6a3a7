package kubernetes

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/local"
	"github.com/brigadeplatform/brigade/internal/substrate/substratetest"
	"github.com/brigadeplatform/brigade/internal/testenv/kube"
)

// The conformance suite on a real kubelet: jobs are pods whose containers
// run (containerd, runc) and whose logs come through the API; workers are
// host processes of the scheduler (Options.Workers), as when a server
// bursts its jobs onto a cluster.
func TestConformanceOnKubelet(t *testing.T) {
	c := kube.Start(t, kube.Options{Kubelet: true})
	logPodsOnFailure(t, c, func(p *corev1.Pod) any { return p.Status.ContainerStatuses })
	substratetest.Run(t, substratetest.Harness{
		New: func(t *testing.T, sink core.LogSink) core.Substrate {
			workers, err := local.New(local.Options{DataDir: t.TempDir(), Sink: sink})
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(Options{Config: c.Config, Sink: sink, Workers: workers,
				Pods: PodOptions{Owner: "conformance"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.Check(ctx); err != nil {
				t.Fatal(err)
			}
			return s
		},
		Image: kube.BusyboxImage,
		// containerd reads stdout and stderr through separate pipes, and
		// the kubelet's log API joins a line without a newline to the
		// next entry of either.
		SeparateStderr:        true,
		JoinsUnterminatedLine: true,
		// Job process ids are the containers'; workers are host processes.
		WorkerProcessGone: substratetest.HostProcessGone,
		Timeout:           3 * time.Minute,
	})
}
