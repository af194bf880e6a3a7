//go:build tools

// Package tools pins the Kubernetes control-plane commands that
// test/k8s/build-tools.sh builds for the kubernetes substrate's tests. This
// module is separate from the project's: nothing here is linked into brigade.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
