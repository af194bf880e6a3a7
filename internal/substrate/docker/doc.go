// Package docker is the docker substrate: each job is one container per
// container of its spec, created through the Docker Engine API (package
// dockerapi), on one machine's daemon. Workers stay host
// processes: a local substrate (package local) runs them, and the docker
// substrate delegates StartWorker, and Wait and Stop of workers, to it;
// Running, List and Cleanup combine both. docs/docker.md is the user's
// guide; this comment says how it works.
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
