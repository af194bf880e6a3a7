package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// notePrefix starts every line the substrate writes into a log itself.
const notePrefix = "[brigade] "

// DefaultSidecarGrace is how long sidecars may outlive their primary.
const DefaultSidecarGrace = 2 * time.Second

// Options configures the local substrate.
type Options struct {
	// DataDir holds the per-event folders (DataDir/events/<eventID>/).
	DataDir string
	// Sink receives every line workers and jobs write.
	Sink core.LogSink
	// Logger gets the substrate's own diagnostics (default: discard).
	Logger *slog.Logger
	// SidecarGrace is how long sidecars may run after their primary ended
	// before SIGTERM, and again before SIGKILL. Cleanup gives running
	// workloads the same grace. Default DefaultSidecarGrace.
	SidecarGrace time.Duration
	// BaseEnv is the environment workers and jobs start from (default:
	// the server's, os.Environ()). Variables named BRIGADE_* are removed.
	BaseEnv []string
	// NoMountNamespace maps mount paths to folders (see the package
	// documentation) even where bind mounts are possible.
	NoMountNamespace bool
	// StandbyCommand is a worker command that speaks package standby's
	// protocol (the server's own `brigade worker`), with an absolute path.
	// Workers launched with exactly this command start from a standby
	// process started ahead of need, when one is ready.
	StandbyCommand []string
	// StandbyWorkers is how many standbys to keep ready (0: none).
	StandbyWorkers int
	// StandbyMaxIdle is how many standbys that ran an event may wait for
	// the next; those beyond StandbyWorkers only for a while. Default (and
	// at least) StandbyWorkers.
	StandbyMaxIdle int
}

// Substrate runs workers and jobs as host processes. It implements
// core.Substrate.
type Substrate struct {
	opts      Options
	log       *slog.Logger
	eventsDir string
	cacheDir  string // DataDir/cache: what outlives events, per project
	baseEnv   []string
	helper    string // binary that runs the mount helper; "" without bind mounts

	mu        sync.Mutex
	workloads map[core.WorkloadRef]*workload
	cleaning  map[string]int // events being cleaned up
	mounts    map[string]*mountPoint

	standbys *pool // nil without Options.StandbyCommand
	confine  *confiner
	spares   *spares
}

var _ core.Substrate = (*Substrate)(nil)

// New prepares DataDir/events and finds out whether mount paths can be bind
// mounts (see MaybeRunMountHelper).
func New(opts Options) (*Substrate, error) {
	if opts.DataDir == "" {
		return nil, errors.New("local substrate: no data dir: set Options.DataDir to the folder for per-event folders (brigade server --data-dir)")
	}
	if opts.Sink == nil {
		return nil, errors.New("local substrate: no log sink: set Options.Sink (the log store)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SidecarGrace <= 0 {
		opts.SidecarGrace = DefaultSidecarGrace
	}
	if opts.BaseEnv == nil {
		opts.BaseEnv = os.Environ()
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("local substrate: data dir %q: %w", opts.DataDir, err)
	}
	s := &Substrate{
		opts:      opts,
		log:       opts.Logger,
		eventsDir: filepath.Join(dataDir, "events"),
		cacheDir:  filepath.Join(dataDir, "cache"),
		baseEnv:   withoutBrigadeVars(opts.BaseEnv),
		workloads: map[core.WorkloadRef]*workload{},
		cleaning:  map[string]int{},
		mounts:    map[string]*mountPoint{},
	}
	if err := os.MkdirAll(s.eventsDir, 0o750); err != nil {
		return nil, notWritable(s.eventsDir, err)
	}
	if len(opts.StandbyCommand) > 0 && opts.StandbyWorkers > 0 {
		if !filepath.IsAbs(opts.StandbyCommand[0]) {
			return nil, fmt.Errorf("local substrate: the standby worker command %q needs an absolute path", opts.StandbyCommand[0])
		}
		if s.standbys, err = newPool(s, opts.StandbyCommand, opts.StandbyWorkers, opts.StandbyMaxIdle); err != nil {
			return nil, err
		}
	}
	s.confine = newConfiner(s.eventsDir, s.log)
	s.spares = newSpares(s.eventsDir, s.confine, s.log)
	s.helper = s.probeMountNamespaces()
	if s.helper != "" {
		s.log.Info("local substrate: mount paths are bind mounts in private mount namespaces", "events", s.eventsDir)
	} else {
		s.log.Info("local substrate: mount paths map to event folders (exported as BRIGADE_SOURCE and BRIGADE_WORKSPACE)",
			"events", s.eventsDir)
	}
	return s, nil
}

// Name implements core.Substrate.
func (s *Substrate) Name() string { return "local" }

// BindMounts reports whether mount paths are bind mounts (true) or mapped
// to folders (false).
func (s *Substrate) BindMounts() bool { return s.helper != "" }

func notWritable(dir string, err error) error {
	return fmt.Errorf("local substrate: the data dir's events folder %s is not writable (%v): "+
		"create it and let the user that runs brigade write to it, or choose another folder with --data-dir", dir, err)
}

// Check implements core.Substrate: the events folder must be writable.
func (s *Substrate) Check(context.Context) error {
	if err := os.MkdirAll(s.eventsDir, 0o750); err != nil {
		return notWritable(s.eventsDir, err)
	}
	f, err := os.CreateTemp(s.eventsDir, ".check-*")
	if err != nil {
		return notWritable(s.eventsDir, err)
	}
	name := f.Name()
	_, werr := f.WriteString("ok")
	cerr := f.Close()
	_ = os.Remove(name)
	if err := errors.Join(werr, cerr); err != nil {
		return notWritable(s.eventsDir, err)
	}
	return nil
}

func checkName(kind, name string) error {
	if !core.SafeName(name) || strings.Contains(name, "..") {
		return &core.BadRequestError{Reason: fmt.Sprintf(
			"%s %q cannot name a folder: use letters, digits, '-', '_' and '.'", kind, name)}
	}
	return nil
}

// eventPaths are an event's folders.
type eventPaths struct{ dir, workspace, source, pids, eventFile string }

func (s *Substrate) paths(eventID string) eventPaths {
	dir := filepath.Join(s.eventsDir, eventID)
	return eventPaths{dir: dir, workspace: filepath.Join(dir, "workspace"), source: filepath.Join(dir, "source"),
		pids: filepath.Join(dir, "pids"), eventFile: filepath.Join(dir, "event.json")}
}

// prepare creates an event's folders: for a worker, the event's own and
// pids/ (the worker makes source/ as it lays out the config files); for a
// job, workspace/ and source/ as well, which it may mount or work in. (A
// new folder costs ~0.2 ms on some file systems, so none is made twice.)
// A new event's folder is a spare one when there is one (see spares),
// with all three subfolders.
func (s *Substrate) prepare(eventID string, job bool) (eventPaths, error) {
	p := s.paths(eventID)
	if s.spares.take(p.dir) {
		return p, nil
	}
	dirs := []string{p.dir, p.pids}
	if job {
		dirs = append(dirs, p.workspace, p.source)
	}
	for _, d := range dirs {
		err := os.Mkdir(d, 0o750)
		if errors.Is(err, fs.ErrNotExist) { // the events folder itself is gone
			err = os.MkdirAll(d, 0o750)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return p, fmt.Errorf("local substrate: creating the folder of event %s: %w (check that %s is writable)",
				eventID, err, s.eventsDir)
		}
	}
	return p, nil
}

func (s *Substrate) get(ref core.WorkloadRef) *workload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.workloads[ref]
}

// Wait implements core.Substrate.
func (s *Substrate) Wait(ctx context.Context, ref core.WorkloadRef) (core.ExitStatus, error) {
	w := s.get(ref)
	if w == nil {
		return core.ExitStatus{}, &core.NotFoundError{Type: "Workload", ID: ref.String(), Reason: fmt.Sprintf(
			"the local substrate does not know the %s: it was never started by this server, was cleaned up, "+
				"or ran before the server restarted", ref)}
	}
	select {
	case <-w.done:
		return w.status, nil
	case <-ctx.Done():
		return core.ExitStatus{}, fmt.Errorf("waiting for the %s: %w", ref, ctx.Err())
	}
}

// Stop implements core.Substrate. Stopping an unknown or finished workload
// does nothing.
func (s *Substrate) Stop(_ context.Context, ref core.WorkloadRef, grace time.Duration) error {
	if w := s.get(ref); w != nil {
		w.stop(grace)
	}
	return nil
}

// List implements core.Substrate: every workload this process started and
// has not cleaned up, running or finished (Wait on a finished one returns
// at once). Workloads of a previous server are not listed.
func (s *Substrate) List(context.Context) ([]core.WorkloadRef, error) {
	s.mu.Lock()
	refs := make([]core.WorkloadRef, 0, len(s.workloads))
	for r := range s.workloads {
		refs = append(refs, r)
	}
	s.mu.Unlock()
	slices.SortFunc(refs, func(a, b core.WorkloadRef) int {
		if c := strings.Compare(a.EventID, b.EventID); c != 0 {
			return c
		}
		return strings.Compare(a.Job, b.Job)
	})
	return refs, nil
}

// Running implements core.Substrate.
func (s *Substrate) Running(context.Context) (workers, jobs int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r, w := range s.workloads {
		if w.isDone() {
			continue
		}
		if r.IsWorker() {
			workers++
		} else {
			jobs++
		}
	}
	return workers, jobs, nil
}

// Cleanup implements core.Substrate: it stops the event's workloads (SIGTERM,
// SIGKILL after SidecarGrace), waits until their logs are complete, kills
// process groups a previous server left (see the package documentation)
// and removes the event folder (or scrubs it into the pool of spares).
func (s *Substrate) Cleanup(ctx context.Context, eventID string) error {
	if err := checkName("event id", eventID); err != nil {
		return err
	}
	s.mu.Lock()
	s.cleaning[eventID]++ // StartWorker and StartJob refuse the event meanwhile
	var ws []*workload
	for r, w := range s.workloads {
		if r.EventID == eventID {
			ws = append(ws, w)
		}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.cleaning[eventID]--; s.cleaning[eventID] == 0 {
			delete(s.cleaning, eventID)
		}
		s.mu.Unlock()
	}()

	for _, w := range ws {
		w.stop(s.opts.SidecarGrace)
	}
	for _, w := range ws {
		select {
		case <-w.done:
		case <-ctx.Done():
			return fmt.Errorf("cleaning up event %s: waiting for its workloads to end: %w", eventID, ctx.Err())
		}
	}
	s.mu.Lock()
	for _, w := range ws {
		if s.workloads[w.ref] == w {
			delete(s.workloads, w.ref)
		}
	}
	s.mu.Unlock()

	p := s.paths(eventID)
	killLeftovers(p.pids, s.log)
	if s.spares.put(p.dir) {
		s.confine.trigger() // a spare is taken once a sweep found no process of its event
		return nil
	}
	if err := removeTree(p.dir); err != nil {
		return fmt.Errorf("cleaning up event %s: removing %s: %w (remove it by hand)", eventID, p.dir, err)
	}
	return nil
}

// Close stops every workload this process started (SIGTERM, SIGKILL after
// SidecarGrace) and waits until they ended and their logs are stored. Host
// processes cannot be re-attached after a restart, so they do not outlive
// the server; the next start finishes their workers and jobs as ABORTED.
// Processes of its jobs that left their process groups are killed too.
func (s *Substrate) Close() error {
	s.standbys.close()
	s.mu.Lock()
	ws := make([]*workload, 0, len(s.workloads))
	for _, w := range s.workloads {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.stop(s.opts.SidecarGrace)
	}
	for _, w := range ws {
		<-w.done
	}
	s.confine.close()
	sweep(s.confine.doomed, s.log) // what the last jobs left
	s.spares.close()
	return nil
}
