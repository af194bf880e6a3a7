package kubernetes

import (
	"errors"
	"fmt"
	"io"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClusterConfig finds the cluster: the kubeconfig file named, else the
// in-cluster configuration (a server running in a pod, with its service
// account), else $KUBECONFIG or ~/.kube/config as kubectl reads them.
func ClusterConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("kubernetes substrate: reading --kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	} else if !errors.Is(err, rest.ErrNotInCluster) {
		return nil, fmt.Errorf("kubernetes substrate: the in-cluster configuration: %w", err)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes substrate: not in a cluster and no usable kubeconfig (%w): "+
			"pass --kubeconfig, set KUBECONFIG, or run the server in a pod", err)
	}
	return cfg, nil
}

// closeWorkers closes Options.Workers when it can be closed.
func closeWorkers(w any) error {
	if c, ok := w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
