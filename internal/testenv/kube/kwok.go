package kube

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// kwokNodeAnnotation marks the nodes kwok manages.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// VirtualKubeletTaint is the taint of the node AddVirtualKubelet creates,
// as Virtual Kubelet's nodes carry it.
var VirtualKubeletTaint = corev1.Taint{Key: "virtual-kubelet.io/provider", Value: "kwok", Effect: corev1.TaintEffectNoSchedule}

// Nodes with these names (AddNode creates them like any other) make
// kwok's pods end otherwise: on HoldNode a pod runs until it is deleted,
// on FailNode it fails with FailExitCode after PodCompleteDelay.
const (
	HoldNode     = "hold"
	FailNode     = "fail"
	FailExitCode = 3
)

// kwokConfiguration is kwok's configuration: manage only the nodes we
// annotate, and pod stages of our own: a scheduled pod runs after
// PodReadyDelay; a running pod that does not restart succeeds after
// PodCompleteDelay (fails on FailNode, runs on HoldNode); a pod being
// deleted goes at once. Every container's log is the canned one in
// logFile, served over TLS with certFile and keyFile.
func kwokConfiguration(o Options, port int, certFile, keyFile, logFile string) string {
	ready, complete := o.PodReadyDelay, o.PodCompleteDelay
	if ready <= 0 {
		ready = 500 * time.Millisecond
	}
	if complete <= 0 {
		complete = 2 * time.Second
	}
	r := strings.NewReplacer(
		"@PORT@", strconv.Itoa(port),
		"@READY_MS@", strconv.FormatInt(ready.Milliseconds(), 10),
		"@COMPLETE_MS@", strconv.FormatInt(complete.Milliseconds(), 10),
		"@ANNOTATION@", kwokNodeAnnotation,
		"@HOLD@", HoldNode,
		"@FAIL@", FailNode,
		"@FAIL_CODE@", strconv.Itoa(FailExitCode),
		"@GATE@", gate(o.GatedNodes),
		"@CERT@", strconv.Quote(certFile),
		"@KEY@", strconv.Quote(keyFile),
		"@LOG@", strconv.Quote(logFile),
	)
	return r.Replace(kwokConfigTemplate)
}

// ReleaseLabel releases a pod on a gated node (Options.GatedNodes): kwok
// lets it succeed once the pod has this label with the value "true".
const ReleaseLabel = "release"

// gate is the selector lines that hold pods on gated nodes until released.
func gate(nodes []string) string {
	if len(nodes) == 0 {
		return ""
	}
	// Either the pod is not on a gated node, or it is released: kwok's
	// expressions are ANDed, so the two are one expression on a value
	// that is "true" only for released pods or other nodes' pods.
	return "    - {key: '.metadata.labels.\"" + ReleaseLabel + "\" // (.spec.nodeName | IN(" +
		quoteList(nodes) + ") | not | tostring)', operator: In, values: ['true']}\n"
}

func quoteList(ss []string) string {
	var q []string
	for _, s := range ss {
		q = append(q, strconv.Quote(s))
	}
	return strings.Join(q, ", ")
}

const kwokConfigTemplate = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  manageAllNodes: false
  manageNodesWithAnnotationSelector: @ANNOTATION@=fake
  nodeIP: 127.0.0.1
  nodePort: @PORT@
  serverAddress: 127.0.0.1:@PORT@
  tlsCertFile: @CERT@
  tlsPrivateKeyFile: @KEY@
  cidr: 10.244.0.0/16
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: brigade-canned-log
spec:
  logs:
  - logsFile: @LOG@
    follow: false
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: brigade-pod-running
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
    - {key: .spec.nodeName, operator: Exists}
    - {key: .status.podIP, operator: DoesNotExist}
  delay: {durationMilliseconds: @READY_MS@}
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Running
      startTime: {{ $now | Quote }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName false ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      conditions:
      - {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        restartCount: 0
      {{ if and .restartPolicy (eq .restartPolicy "Always") }}
        ready: true
        started: true
        state: {running: {startedAt: {{ $now | Quote }}}}
      {{ else }}
        ready: true
        state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
      {{ end }}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state: {running: {startedAt: {{ $now | Quote }}}}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: brigade-pod-succeeded
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
    - {key: .status.phase, operator: In, values: [Running]}
    - {key: .spec.restartPolicy, operator: In, values: [Never, OnFailure]}
    - {key: .spec.nodeName, operator: NotIn, values: [@HOLD@, @FAIL@]}
@GATE@  delay: {durationMilliseconds: @COMPLETE_MS@}
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Succeeded
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: brigade-pod-failed
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
    - {key: .status.phase, operator: In, values: [Running]}
    - {key: .spec.nodeName, operator: In, values: [@FAIL@]}
  delay: {durationMilliseconds: @COMPLETE_MS@}
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Failed
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state: {terminated: {exitCode: @FAIL_CODE@, reason: Error, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: brigade-pod-delete
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: Exists}
  next:
    finalizers: {empty: true}
    delete: true
`

// NodeOptions describe a kwok node.
type NodeOptions struct {
	Name   string
	Labels map[string]string
	Taints []corev1.Taint
}

// AddNode creates a node that kwok plays and waits until it is ready and
// schedulable (the controller manager has lifted its not-ready taint).
func (c *Cluster) AddNode(ctx context.Context, o NodeOptions) (*corev1.Node, error) {
	labels := map[string]string{
		"kubernetes.io/hostname": o.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"type":                   "kwok",
	}
	maps.Copy(labels, o.Labels)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        o.Name,
			Labels:      labels,
			Annotations: map[string]string{kwokNodeAnnotation: "fake"},
		},
		Spec: corev1.NodeSpec{Taints: o.Taints},
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating node %s: %w", o.Name, err)
	}
	var got *corev1.Node
	err := waitFor("node "+o.Name+" to be ready", startDeadline, c.procs, func() error {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ready := false
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			return fmt.Errorf("node %s is not Ready", o.Name)
		}
		for _, t := range n.Spec.Taints {
			if strings.HasPrefix(t.Key, "node.kubernetes.io/") {
				return fmt.Errorf("node %s still has the taint %s", o.Name, t.Key)
			}
		}
		got = n
		return nil
	})
	return got, err
}

// AddVirtualKubelet creates the node the classic tutorial bursts onto: a
// kwok node named virtual-kubelet, labelled and tainted as Virtual
// Kubelet's nodes are (VirtualKubeletTaint).
func (c *Cluster) AddVirtualKubelet(ctx context.Context) (*corev1.Node, error) {
	return c.AddNode(ctx, NodeOptions{
		Name:   "virtual-kubelet",
		Labels: map[string]string{"type": "virtual-kubelet", "kubernetes.io/role": "agent"},
		Taints: []corev1.Taint{VirtualKubeletTaint},
	})
}

// Release lets a pod held on a gated node (Options.GatedNodes) succeed.
func (c *Cluster) Release(ctx context.Context, namespace, pod string) error {
	patch := []byte(`{"metadata":{"labels":{"` + ReleaseLabel + `":"true"}}}`)
	_, err := c.Client.CoreV1().Pods(namespace).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("releasing pod %s/%s: %w", namespace, pod, err)
	}
	return nil
}
