// Package docker is the docker substrate: each job is one container per
// container of its spec, created through the Docker Engine API (package
// dockerapi), on one machine's daemon. The built-in worker stays a host
// process: a local substrate (package local) runs it, and the docker
// substrate delegates StartWorker, and Wait and Stop of such workers, to
// it; Running, List and Cleanup combine both. docs/docker.md is the user's
// guide; this comment says how it works.
//
// # Worker images
//
// A worker template that names an image (core.WorkerImage) runs as one
// container of it, following docs/worker-contract.md (worker.go): it is
// planned as a job's primary container would be, with the event's source
// and workspace folders at /var/vcs and /var/workspace, the event document
// copied in at /var/event/event.json before it starts, the host's network
// (Options.WorkerNetwork) and the label sh.brigade.role=worker. From then
// on it is a job of one container whose ref names the worker: the same
// following, logs, stop, re-attaching and cleanup.
//
// # Starting a job
//
// StartJob plans every container (spec.go: pure functions from the job
// spec to docker's create request, so that they are tested as data),
// refuses what cannot run (a privileged container the project's job policy
// forbids, a bad mount path or quantity) by failing the job with the reason
// in its log, pulls images per imagePullPolicy, creates the primary and
// then the sidecars in the primary's network namespace, and starts them in
// that order. Only the substrate's own trouble (the daemon cannot be
// reached) is an error; StartJob then removes what it created, so that the
// scheduler can retry.
//
// # Following a job
//
// Each job has one goroutine (job.run) that owns the others: per container,
// a follower that reads its log into a pump (logs.go) and a waiter for its
// exit. When the primary ends, sidecars get SidecarGrace, then SIGTERM,
// then SIGKILL after another SidecarGrace. Wait returns once every log is
// stored and every stream is closed; the outcome is the primary's.
//
// # Logs
//
// Logs are read with timestamps and demultiplexed; docker's partial
// messages (lines over 16 KiB) are joined, and lines over 64 KiB cut. The
// assembly depends only on docker's messages, which is what makes reading
// a log again exact: after a broken connection or the end of the followed
// stream the follower reads with since=T and skips the messages it already
// had; after a restart it reads from the start and skips the lines the log
// store holds (Options.Resume, StoreResume).
//
// # Restarts and Close
//
// Close stops following without stopping anything, leaving log streams
// open. A substrate on the same data dir finds the containers again by
// their labels (List), and Wait, Stop or Cleanup re-attach to them
// (reattach.go).
package docker
