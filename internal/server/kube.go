package server

import (
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/kubernetes"
	"github.com/brigadeplatform/brigade/internal/substrate/local"
)

// Where the kubernetes substrate runs workers (KubeConfig.Workers).
const (
	KubeWorkersHost = "host" // processes of this server; only jobs go to the cluster
	KubeWorkersPod  = "pod"  // pods of KubeConfig.Image
)

// KubeConfig are the kubernetes substrate's settings.
type KubeConfig struct {
	Kubeconfig      string // kubeconfig file (default: in-cluster, else $KUBECONFIG or ~/.kube/config)
	Workers         string // KubeWorkersHost (default) or KubeWorkersPod
	Image           string // our image: git-init containers and worker pods
	NamespacePrefix string // before the project id in namespace names (default "brigade-")
	StorageClass    string // of workspace claims (default: the cluster's default class)
	Owner           string // label value that keeps this server's objects apart (default "brigade")
}

// newKubeSubstrate builds the kubernetes substrate, with host-process
// workers unless cfg.Kube.Workers is "pod".
func newKubeSubstrate(cfg Config, hostWorkers local.Options, sink core.LogSink, log *slog.Logger) (core.Substrate, error) {
	rc, err := kubernetes.ClusterConfig(cfg.Kube.Kubeconfig)
	if err != nil {
		return nil, err
	}
	opts := kubernetes.Options{
		Config: rc, Sink: sink, Logger: log.With("substrate", "kubernetes"),
		Pods: kubernetes.PodOptions{
			Owner: cfg.Kube.Owner, NamespacePrefix: cfg.Kube.NamespacePrefix, Image: cfg.Kube.Image,
			WorkspaceStorageClass: cfg.Kube.StorageClass, WorkspaceAccessMode: corev1.ReadWriteMany,
		},
	}
	if cfg.Kube.Workers != KubeWorkersPod {
		workers, err := local.New(hostWorkers)
		if err != nil {
			return nil, fmt.Errorf("preparing the local substrate that runs the kubernetes substrate's workers: %w", err)
		}
		opts.Workers = workers
	}
	sub, err := kubernetes.New(opts)
	if err != nil {
		if opts.Workers != nil {
			_ = opts.Workers.(*local.Substrate).Close()
		}
		return nil, fmt.Errorf("preparing the kubernetes substrate: %w", err)
	}
	return sub, nil
}
