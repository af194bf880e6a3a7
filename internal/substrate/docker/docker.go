package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
	"github.com/brigadeplatform/brigade/internal/substrate/local"
)

// notePrefix starts every line the substrate writes into a log itself.
const notePrefix = "[brigade] "

// DefaultSidecarGrace is how long sidecars may outlive their primary.
const DefaultSidecarGrace = 2 * time.Second

// Options configures the docker substrate.
type Options struct {
	// Host is the Docker daemon's address (unix:///var/run/docker.sock,
	// tcp://host:2376 …). Empty: $DOCKER_HOST, else the default socket.
	// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_API_VERSION apply as
	// for the docker CLI (see package dockerapi).
	Host string
	// Network is the network mode of primary containers: "" for the
	// daemon's default, or bridge, host, none, or a network's name.
	// Sidecars always share their primary's network.
	Network string
	// WorkerNetwork is the network mode of workers' containers (projects
	// whose worker template names an image). Default DefaultWorkerNetwork
	// (host): the worker must reach the API at its address.
	WorkerNetwork string
	// DataDir holds the per-event folders (DataDir/events/<eventID>/, as
	// on the local substrate); jobs bind-mount their workspace/ and
	// source/ folders.
	DataDir string
	// Sink receives every line workers and jobs write.
	Sink core.LogSink
	// Logger gets the substrate's own diagnostics (default: discard).
	Logger *slog.Logger
	// SidecarGrace is how long sidecars may run after their primary ended
	// before SIGTERM, and again before SIGKILL; Cleanup gives running jobs
	// the same grace. Default DefaultSidecarGrace.
	SidecarGrace time.Duration
	// Resume tells how much of a container's log the log store already
	// holds, so that after a restart the substrate re-attaches to a
	// running container without losing or repeating lines (StoreResume
	// reads it from a core.LogStore). Nil: re-attached logs are read from
	// their start again, so lines may repeat.
	Resume func(ctx context.Context, s core.LogStream) (LogPosition, error)
	// Checkout clones the git source an event document names into dir (a
	// worker image's /var/vcs), writing git's lines to log; package worker's
	// Checkout. Nil: a worker image of a project with git finds /var/vcs
	// empty, and its log says so.
	Checkout func(ctx context.Context, eventDocument []byte, dir string, log func(line string)) error
	// Workers runs the built-in worker (default: a local substrate on
	// DataDir, Sink, Logger and SidecarGrace): it stays a host process. A
	// worker template that names an image runs as a container of it here.
	Workers core.Substrate
}

// Substrate runs jobs, and workers of an image, as Docker containers, and
// delegates the built-in worker to a host-process substrate. It implements
// core.Substrate.
type Substrate struct {
	opts      Options
	log       *slog.Logger
	cli       *dockerapi.Client
	dataDir   string
	eventsDir string
	workers   core.Substrate

	ctx       context.Context // ends at Close: jobs stop being followed
	cancel    context.CancelFunc
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // job goroutines

	mu         sync.Mutex
	jobs       map[core.WorkloadRef]*job
	adopting   map[core.WorkloadRef]chan struct{}
	cleaning   map[string]int           // events being cleaned up
	cleanReady map[string]chan struct{} // closed once Cleanup re-attached the event's jobs
}

var _ core.Substrate = (*Substrate)(nil)

// New prepares the substrate. It does not contact the daemon: Check does.
func New(opts Options) (*Substrate, error) {
	if opts.DataDir == "" {
		return nil, errors.New("docker substrate: no data dir: set Options.DataDir to the folder for per-event folders (brigade server --data-dir)")
	}
	if opts.Sink == nil {
		return nil, errors.New("docker substrate: no log sink: set Options.Sink (the log store)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SidecarGrace <= 0 {
		opts.SidecarGrace = DefaultSidecarGrace
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("docker substrate: data dir %q: %w", opts.DataDir, err)
	}
	cli, err := dockerapi.New(opts.Host)
	if err != nil {
		return nil, fmt.Errorf("docker substrate: Docker daemon address %q: %w (set --docker-host or DOCKER_HOST to "+
			"an address such as unix:///var/run/docker.sock or tcp://host:2375)", opts.Host, err)
	}
	workers := opts.Workers
	if workers == nil {
		if workers, err = local.New(local.Options{DataDir: dataDir, Sink: opts.Sink, Logger: opts.Logger,
			SidecarGrace: opts.SidecarGrace}); err != nil {
			_ = cli.Close()
			return nil, fmt.Errorf("docker substrate: preparing the local substrate that runs workers: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Substrate{
		opts: opts, log: opts.Logger, cli: cli, dataDir: dataDir, eventsDir: filepath.Join(dataDir, "events"),
		workers: workers, ctx: ctx, cancel: cancel, closed: make(chan struct{}),
		jobs: map[core.WorkloadRef]*job{}, adopting: map[core.WorkloadRef]chan struct{}{}, cleaning: map[string]int{},
		cleanReady: map[string]chan struct{}{},
	}
	if opts.Resume == nil {
		s.log.Warn("docker substrate: no Resume function: after a restart, logs of re-attached containers are read from their start again")
	}
	return s, nil
}

// Name implements core.Substrate.
func (s *Substrate) Name() string { return "docker" }

// DaemonHost is the address of the Docker daemon in use.
func (s *Substrate) DaemonHost() string { return s.cli.Host() }

// Check implements core.Substrate: the daemon must answer (within 10 s) and
// the workers' substrate must be able to run workers.
func (s *Substrate) Check(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.cli.Ping(pctx); err != nil {
		return fmt.Errorf("docker substrate: the Docker daemon at %s is not reachable (%v): start dockerd "+
			"(for example `dockerd &` as root, or `systemctl start docker`), point --docker-host or DOCKER_HOST at a running daemon, "+
			"or run with --substrate local", s.cli.Host(), err)
	}
	return s.workers.Check(ctx)
}

// Close stops following jobs without stopping them, as a server that exits
// does: their containers go on, their log streams stay open, and the next
// substrate on the same data dir re-attaches (List, then Wait). It waits
// for the substrate's goroutines. Workers, host processes that cannot be
// re-attached, are stopped (see local.Substrate.Close).
func (s *Substrate) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.cancel()
	})
	var werr error
	if c, ok := s.workers.(io.Closer); ok {
		werr = c.Close()
	}
	s.wg.Wait()
	return errors.Join(werr, s.cli.Close())
}

// StartWorker implements core.Substrate: a worker template that names an
// image runs as a container of it (worker.go); the built-in worker runs on
// the workers' substrate (host processes).
func (s *Substrate) StartWorker(ctx context.Context, w *core.WorkerLaunch) (time.Time, error) {
	if image := w.Image(); image != "" {
		return s.startWorkerContainer(ctx, w, image)
	}
	return s.workers.StartWorker(ctx, w)
}

// Wait implements core.Substrate. A job or worker this substrate does not
// follow but whose containers exist (started before a restart) is
// re-attached.
func (s *Substrate) Wait(ctx context.Context, ref core.WorkloadRef) (core.ExitStatus, error) {
	j, host, err := s.workload(ctx, ref)
	if host {
		return s.workers.Wait(ctx, ref)
	}
	if err != nil {
		return core.ExitStatus{}, err
	}
	if j == nil {
		return core.ExitStatus{}, &core.NotFoundError{Type: "Workload", ID: ref.String(), Reason: fmt.Sprintf(
			"the docker substrate has no container of the %s: it was never started, or was cleaned up", ref)}
	}
	if j.isDone() {
		return j.status, nil
	}
	select {
	case <-j.done:
		return j.status, nil
	case <-ctx.Done():
		return core.ExitStatus{}, fmt.Errorf("waiting for the %s: %w", ref, ctx.Err())
	case <-s.closed:
		return core.ExitStatus{}, fmt.Errorf("waiting for the %s: the docker substrate was closed (the server is stopping)", ref)
	}
}

// Stop implements core.Substrate. Stopping an unknown or finished workload
// does nothing.
func (s *Substrate) Stop(ctx context.Context, ref core.WorkloadRef, grace time.Duration) error {
	j, host, err := s.workload(ctx, ref)
	if host {
		return s.workers.Stop(ctx, ref, grace)
	}
	if err != nil {
		return err
	}
	if j != nil {
		j.stop(grace)
	}
	return nil
}

func (s *Substrate) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
	}
	return false
}

// containers lists this data dir's containers that carry every given label
// (key=value), running or not.
func (s *Substrate) containers(ctx context.Context, labels ...string) ([]dockerapi.ContainerSummary, error) {
	res, err := s.cli.ContainerList(ctx, dockerapi.ListOptions{All: true, Labels: append([]string{LabelDataDir + "=" + s.dataDir}, labels...)})
	if err != nil {
		return nil, fmt.Errorf("docker substrate: listing containers on %s: %w", s.cli.Host(), err)
	}
	return res, nil
}

// List implements core.Substrate: host-process workers, the workloads this
// substrate follows (finished ones too, until Cleanup) and every worker or
// primary container of this data dir on the daemon, so that after a
// restart they are re-attached.
func (s *Substrate) List(ctx context.Context) ([]core.WorkloadRef, error) {
	refs, err := s.workers.List(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[core.WorkloadRef]bool{}
	for _, r := range refs {
		seen[r] = true
	}
	add := func(r core.WorkloadRef) {
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	s.mu.Lock()
	for r := range s.jobs {
		add(r)
	}
	s.mu.Unlock()
	found, err := s.containers(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range found {
		if ref, ok := workloadOf(c.Labels); ok {
			add(ref)
		}
	}
	slices.SortFunc(refs, func(a, b core.WorkloadRef) int {
		if c := strings.Compare(a.EventID, b.EventID); c != 0 {
			return c
		}
		return strings.Compare(a.Job, b.Job)
	})
	return refs, nil
}

// Running implements core.Substrate: live workers, and workers' and jobs'
// containers this substrate started or re-attached that have not ended.
func (s *Substrate) Running(ctx context.Context) (workers, jobs int, err error) {
	if workers, _, err = s.workers.Running(ctx); err != nil {
		return 0, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		switch {
		case j.isDone():
		case j.ref.IsWorker():
			workers++
		default:
			jobs++
		}
	}
	return workers, jobs, nil
}
