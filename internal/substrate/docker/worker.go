package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/substrate/logpump"
)

// RoleWorker is the LabelRole of a worker's container: a project whose
// worker template names an image runs its worker as one container of that
// image (docs/worker-contract.md); other workers are host processes.
const RoleWorker = "worker"

// workerContainer names the worker's container in its labels and its log
// stream, as on every substrate.
const workerContainer = "worker"

// DefaultWorkerNetwork is the network mode of workers' containers: the
// host's, so that a worker reaches the API at the address the server gives
// it (127.0.0.1 unless --api-address says otherwise) as a host process
// would.
const DefaultWorkerNetwork = "host"

// refLabels are the labels that find a workload's containers.
func refLabels(ref core.WorkloadRef) []string {
	if ref.IsWorker() {
		return []string{LabelEvent + "=" + ref.EventID, LabelRole + "=" + RoleWorker}
	}
	return []string{LabelEvent + "=" + ref.EventID, LabelJob + "=" + ref.Job}
}

// workloadOf is the workload a worker or primary container belongs to,
// from its labels; false for sidecars and containers of no workload.
func workloadOf(labels map[string]string) (core.WorkloadRef, bool) {
	ref := core.WorkloadRef{EventID: labels[LabelEvent]}
	switch labels[LabelRole] {
	case RoleWorker:
	case RolePrimary:
		ref.Job = labels[LabelJob]
		if ref.Job == "" {
			return ref, false
		}
	default:
		return ref, false
	}
	return ref, ref.EventID != ""
}

// primaryName is the name of a workload's primary container.
func primaryName(ref core.WorkloadRef) string {
	if ref.IsWorker() {
		return workerContainer
	}
	return ref.Job
}

// startWorkerContainer runs a worker image. As with jobs, a worker that
// cannot run as its template says (the image cannot be pulled, docker
// refuses its command) starts and ends FAILED at once, with the reason in
// its log.
func (s *Substrate) startWorkerContainer(ctx context.Context, w *core.WorkerLaunch, image string) (time.Time, error) {
	id := w.Event.Metadata.ID
	if err := checkName("event id", id); err != nil {
		return time.Time{}, err
	}
	ref := core.WorkloadRef{EventID: id}
	return s.start(ctx, ref, []string{workerContainer}, func(j *job) error { return s.launchWorker(ctx, w, image, j) })
}

// launchWorker creates the worker's container, puts its event document in
// it, and starts it.
func (s *Substrate) launchWorker(ctx context.Context, w *core.WorkerLaunch, image string, j *job) error {
	id := w.Event.Metadata.ID
	c := j.ctrs[0]
	c.logs.Note(fmt.Sprintf("%sdocker substrate: running the worker image %q", notePrefix, image))
	dirs, err := s.eventDirs(id)
	if err != nil {
		return err
	}
	p, reason := planWorker(w, image, dirs, s.dataDir, s.workerNetwork())
	if reason != "" {
		return j.fail(reason)
	}
	if reason, err := s.ensureImage(ctx, p, c.logs); err != nil || reason != "" {
		if err != nil {
			return err
		}
		return j.fail(reason)
	}
	if reason := s.checkoutSource(ctx, w, dirs.source, c.logs); reason != "" {
		return j.fail(reason)
	}
	for _, d := range []string{dirs.source, dirs.workspace} {
		_ = os.Chmod(d, 0o777) // the image may run as any user; the data dir itself is private
	}
	res, err := s.cli.ContainerCreate(ctx, "brigade_"+id+"_"+workerContainer, p.config, p.host)
	if err != nil {
		if trouble(ctx, err) {
			return fmt.Errorf("docker substrate: creating the container of the %s: %w", j.ref, err)
		}
		return j.fail(fmt.Sprintf("cannot create the worker's container from image %q: %v", image, err))
	}
	for _, warning := range res.Warnings {
		c.logs.Note(notePrefix + "docker: " + warning)
	}
	j.mu.Lock()
	c.id = res.ID
	j.mu.Unlock()
	archive, err := eventArchive(w.EventDocument)
	if err == nil {
		err = s.cli.CopyToContainer(ctx, res.ID, "/", archive)
	}
	if err != nil {
		if trouble(ctx, err) {
			return s.undo(fmt.Errorf("docker substrate: copying %s into the container of the %s: %w",
				core.WorkerEventFile, j.ref, err), []string{res.ID})
		}
		return j.fail(fmt.Sprintf("cannot copy the event document to %s in the worker's container: %v", core.WorkerEventFile, err))
	}
	if j.isStopped() {
		return nil // ends ABORTED without starting
	}
	if err := s.cli.ContainerStart(ctx, res.ID); err != nil {
		if trouble(ctx, err) {
			return s.undo(fmt.Errorf("docker substrate: starting the container of the %s: %w", j.ref, err), []string{res.ID})
		}
		return j.fail(fmt.Sprintf("cannot start the worker's container: %v", err))
	}
	j.mu.Lock()
	c.started = true
	j.started = time.Now().UTC()
	j.mu.Unlock()
	return nil
}

// checkoutSource clones a project's git source into the folder the
// worker's container gets at /var/vcs, as Brigade's vcs init container
// did: the worker is STARTING meanwhile, and what git says goes to the
// event's vcs log. It returns why the worker cannot run when the clone
// failed.
func (s *Substrate) checkoutSource(ctx context.Context, w *core.WorkerLaunch, dir string, logs *logpump.Pump) string {
	g := w.Event.Worker.Spec.Git
	if g == nil || g.CloneURL == "" {
		return ""
	}
	if s.opts.Checkout == nil {
		logs.Note(fmt.Sprintf("%sdocker substrate: %s is empty: this substrate cannot clone the project's source from %s",
			notePrefix, core.WorkerSourceDir, g.CloneURL))
		return ""
	}
	id := w.Event.Metadata.ID
	// A start that is tried again (after the daemon could not be reached)
	// clones again, into an empty folder: no job has run yet.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Sprintf("cannot empty the source folder %s before the clone: %v", dir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Sprintf("cannot create the source folder %s: %v", dir, err)
	}
	vcs := newPump(s.opts.Sink, core.LogStream{EventID: id, Container: "vcs"}, s.log)
	err := s.opts.Checkout(ctx, w.EventDocument, dir, vcs.Line)
	vcs.End(true)
	if err != nil {
		return fmt.Sprintf("cloning the project's source from %s into %s failed; what git said is in the vcs log "+
			"(brig event logs %s --container vcs)", g.CloneURL, core.WorkerSourceDir, id)
	}
	return ""
}

func (s *Substrate) workerNetwork() string {
	if s.opts.WorkerNetwork != "" {
		return s.opts.WorkerNetwork
	}
	return DefaultWorkerNetwork
}

// planWorker is the worker's container: the template's image, command,
// arguments, environment and pull policy, with the contract's folders
// mounted and its variables set. Apart from its labels, it is planned
// as a job's primary container would be.
func planWorker(w *core.WorkerLaunch, image string, dirs eventDirs, dataDir, network string) (*ctrPlan, string) {
	ev := w.Event
	spec := ev.Worker.Spec
	c := core.JobContainerSpec{SourceMountPath: core.WorkerSourceDir}
	if spec.Container != nil {
		c.ContainerSpec = *spec.Container
	}
	c.Image = image
	env := maps.Clone(w.Env)
	if env == nil {
		env = map[string]string{}
	}
	env["BRIGADE_EVENT_FILE"] = core.WorkerEventFile
	env["BRIGADE_SOURCE"] = core.WorkerSourceDir
	if spec.UseWorkspace {
		c.WorkspaceMountPath = core.WorkerWorkspaceDir
		env["BRIGADE_WORKSPACE"] = core.WorkerWorkspaceDir
	}
	jl := &core.JobLaunch{
		EventID: ev.Metadata.ID, ProjectID: ev.ProjectID, Job: &core.Job{Name: workerContainer},
		Environment: map[string]map[string]string{workerContainer: env}, UseWorkspace: spec.UseWorkspace,
	}
	p, reason := planContainer(jl, workerContainer, c, true, dirs, dataDir, network)
	if reason != "" {
		return nil, "the worker template's " + reason
	}
	delete(p.config.Labels, LabelJob)
	p.config.Labels[LabelRole] = RoleWorker
	return p, ""
}

// eventArchive is a tar archive, to unpack at /, that holds the event
// document at core.WorkerEventFile. The file is readable by every user of
// the container (images may run as any user), and is in the container
// only: it goes when the event's containers are removed.
func eventArchive(doc []byte) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	dir := strings.TrimPrefix(path.Dir(core.WorkerEventFile), "/") + "/"
	errs := []error{
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: now}),
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + path.Base(core.WorkerEventFile), Mode: 0o644,
			Size: int64(len(doc)), ModTime: now}),
	}
	_, err := tw.Write(doc)
	errs = append(errs, err, tw.Close())
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("packing the event document: %w", err)
	}
	return &buf, nil
}

// workload returns the job, or worker container, that a ref names: one
// this substrate follows or re-attaches to (nil when there is none). host
// says that the ref names a worker of the workers' substrate instead: a
// host process it knows, or a worker no container belongs to.
func (s *Substrate) workload(ctx context.Context, ref core.WorkloadRef) (j *job, host bool, err error) {
	if !ref.IsWorker() {
		j, err = s.job(ctx, ref)
		return j, false, err
	}
	s.mu.Lock()
	j = s.jobs[ref]
	s.mu.Unlock()
	if j != nil {
		return j, false, nil
	}
	if refs, err := s.workers.List(ctx); err == nil && slices.Contains(refs, ref) {
		return nil, true, nil
	}
	j, err = s.job(ctx, ref)
	return j, err == nil && j == nil, err
}
