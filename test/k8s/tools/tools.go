//go:build tools

// Package tools pins the Kubernetes control-plane commands and helm that
// test/k8s/build-tools.sh builds for the kubernetes substrate's and the
// chart's tests, in one module so that they share one build of the
// Kubernetes libraries. This module is separate from the project's:
// nothing here is linked into brigade.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
