// Package kubernetes is the kubernetes substrate: each job is one pod, in
// a namespace per project, created through client-go's REST client for
// core/v1 alone (client.go: not the typed clientset, whose ~56 API groups
// every brigade process would otherwise initialise). Workers run as pods
// of our own image (or of the worker image a project names), or, with
// Options.Workers, as host processes of the scheduler while their jobs go
// to the cluster: a laptop or CI server bursting onto a cluster, and the
// tests, whose kwok nodes run no processes.
//
// # Specs as data
//
// Every object is planned by a pure function from core types (names.go,
// objects.go, jobpod.go, workerpod.go) and tested as golden files
// (go test -run Golden -update rewrites them):
//
//   - a namespace per project (NamespaceObject), labelled with the project
//     and as ours, holding the project's secrets as a Secret;
//   - per event, a Secret with the worker's event document (for the
//     worker pod and the git-init containers) and, when the worker template
//     sets useWorkspace, a workspace claim (storage class and access mode
//     are server settings);
//   - per job, a pod (JobPod) and a Secret with its containers' environment
//     (the project's secrets never sit in a pod's spec). Sidecars are native
//     sidecars (init containers that restart always), so that the pod ends
//     when its primary container does. A container that mounts the source
//     gets it from a git-init init container running `brigade git-init` of
//     our image. host.os and v1's host.name select kubernetes.io/os and
//     kubernetes.io/hostname, host.nodeSelector adds its pairs, and a job
//     that names a node, or selects type=virtual-kubelet, tolerates the
//     taints of virtual nodes (VirtualNodeTaints), so that the classic
//     tutorial's jobs burst onto a Virtual Kubelet node as they did.
//
// Everything carries the labels of names.go: LabelOwner keeps two servers
// sharing a cluster apart, and LabelEvent, LabelJob and LabelRole find a
// workload's pod again.
//
// # Following
//
// One informer watches the substrate's pods in every namespace; its
// events wake the goroutine that follows each workload (workload.go): once
// a container has started, its log is read through the API with
// timestamps (logs.go) and stored as it comes; when the pod has ended and
// every log is in, Wait returns the primary container's outcome. A log
// stream that breaks is read again from its last second, skipping the
// lines already stored by their exact timestamps.
//
// # Stop, cleanup, restarts
//
// Stop deletes the pod with the grace as its termination grace period.
// Cleanup deletes the event's pods, Secrets and claim, found by label in
// every namespace. After a restart, List sees the pods through the watch
// and Wait or Stop re-attach to them.
package kubernetes
