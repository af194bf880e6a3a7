package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// procSpec is how to start one process.
type procSpec struct {
	container string
	stream    core.LogStream
	argv      []string
	path      string // resolved argv[0]; "" lets the mount helper resolve it
	dir       string // working directory (inside the namespace with mounts)
	env       []string
	mounts    []bindMount // non-empty: start through the mount helper
	notes     []string    // lines written before the process's own
	pidFile   string
	standby   bool // may start from a standby (a worker)
}

// jobMark is a job's entry in the confiner: its number and the value of
// confineVar for its processes.
type jobMark struct {
	seq  uint64
	mark string
}

// StartWorker implements core.Substrate: it writes event.json and runs the
// worker command in the event folder.
func (s *Substrate) StartWorker(_ context.Context, wl *core.WorkerLaunch) (time.Time, error) {
	if wl == nil || wl.Event == nil {
		return time.Time{}, errors.New("local substrate: StartWorker needs a launch that carries its event")
	}
	id := wl.Event.Metadata.ID
	if err := checkName("event id", id); err != nil {
		return time.Time{}, err
	}
	if image := wl.Image(); image != "" {
		return s.refuseWorkerImage(id, image)
	}
	if len(wl.Command) == 0 {
		return time.Time{}, fmt.Errorf("local substrate: the worker launch of event %s has no command: "+
			"the server must say how to run the worker (e.g. [brigade worker])", id)
	}
	p, err := s.prepare(id, false)
	if err != nil {
		return time.Time{}, err
	}
	if err := writeEventFile(p.eventFile, wl.EventDocument); err != nil {
		return time.Time{}, fmt.Errorf("local substrate: writing the event file of event %s: %w", id, err)
	}
	vars := map[string]string{
		"BRIGADE_EVENT_FILE": p.eventFile,
		"BRIGADE_WORKSPACE":  p.workspace,
		"BRIGADE_SOURCE":     p.source,
		"PWD":                p.dir,
	}
	if checkName("project id", wl.Event.ProjectID) == nil {
		// The worker makes it when it first installs a package.
		vars["BRIGADE_NPM_CACHE"] = filepath.Join(s.cacheDir, "npm", wl.Event.ProjectID)
	}
	env := mergeEnv(s.baseEnv, wl.Env, vars)
	path, err := lookPath(wl.Command[0], envValue(env, "PATH"), p.dir)
	if err != nil {
		return time.Time{}, fmt.Errorf("local substrate: cannot run the worker of event %s: %q: %w", id, wl.Command[0], err)
	}
	// A worker is confined as a job is: what it starts (git, npm, or a
	// standby's children, which get this environment when it takes the
	// event) carries the mark, and dies with it wherever it moved.
	var jm jobMark
	jm.seq, jm.mark = s.confine.start(id)
	env = mergeEnv(env, nil, map[string]string{confineVar: jm.mark})
	spec := procSpec{
		container: "worker",
		stream:    core.LogStream{EventID: id, Container: "worker"},
		argv:      slices.Clone(wl.Command),
		path:      path,
		dir:       p.dir,
		env:       env,
		pidFile:   filepath.Join(p.pids, groupsFile),
		standby:   true,
	}
	return s.launch(core.WorkloadRef{EventID: id}, []procSpec{spec}, "", nil, jm)
}

// refuseWorkerImage starts a worker that fails at once: its project names
// a worker image, which host processes cannot run, and the built-in worker
// must not stand in for it unasked. The log says what to do instead.
func (s *Substrate) refuseWorkerImage(eventID, image string) (time.Time, error) {
	spec := procSpec{container: "worker", stream: core.LogStream{EventID: eventID, Container: "worker"}}
	reason := fmt.Sprintf("this project's worker template names the image %q (workerTemplate.container.image), "+
		"and the local substrate runs only the built-in JavaScript/TypeScript worker, as a host process: "+
		"run the server with --substrate docker to run this worker image, "+
		"or remove workerTemplate.container.image from the project to use the built-in worker", image)
	return s.launch(core.WorkloadRef{EventID: eventID}, []procSpec{spec}, reason, nil, jobMark{})
}

// StartJob implements core.Substrate. A job that cannot run at all (no
// command, command not found, unusable mount path) still starts: it ends
// FAILED at once, with the reason in its log and in its ExitStatus.
func (s *Substrate) StartJob(_ context.Context, jl *core.JobLaunch) (time.Time, error) {
	if jl == nil || jl.Job == nil {
		return time.Time{}, errors.New("local substrate: StartJob needs a launch that carries its job")
	}
	if err := checkName("event id", jl.EventID); err != nil {
		return time.Time{}, err
	}
	if err := checkName("job name", jl.Job.Name); err != nil {
		return time.Time{}, err
	}
	p, err := s.prepare(jl.EventID, true)
	if err != nil {
		return time.Time{}, err
	}
	var jm jobMark
	jm.seq, jm.mark = s.confine.start(jl.EventID)
	names := []string{jl.Job.Name}
	names = append(names, slices.Sorted(maps.Keys(jl.Job.Spec.SidecarContainers))...)
	var (
		specs   []procSpec
		targets []string
		failure string
	)
	for i, name := range names {
		c := jl.Job.Spec.PrimaryContainer
		if i > 0 {
			c = jl.Job.Spec.SidecarContainers[name]
		}
		sp, tops, fail := s.jobProc(jl, p, name, c, i == 0, jm.mark)
		if fail != "" && failure == "" {
			failure = fail
		}
		specs = append(specs, sp)
		targets = append(targets, tops...)
	}
	var release func()
	if failure == "" && len(targets) > 0 {
		if release, err = s.acquireMountPoints(targets); err != nil {
			failure = err.Error()
		}
	}
	return s.launch(core.WorkloadRef{EventID: jl.EventID, Job: jl.Job.Name}, specs, failure, release, jm)
}

// jobProc plans one container of a job. It returns the bind-mount targets
// that must exist on the host, or a failure reason.
func (s *Substrate) jobProc(jl *core.JobLaunch, p eventPaths, name string, c core.JobContainerSpec,
	primary bool, mark string) (procSpec, []string, string) {
	sp := procSpec{container: name, stream: core.LogStream{EventID: jl.EventID, Job: jl.Job.Name, Container: name}}
	if primary {
		sp.stream.Container = jl.Job.Name
	} else if err := checkName("sidecar name", name); err != nil {
		return sp, nil, err.Error()
	} else if name == jl.Job.Name {
		return sp, nil, fmt.Sprintf("sidecar %s has the job's name, which names the primary container's log; rename the sidecar", name)
	}
	sp.pidFile = filepath.Join(p.pids, groupsFile) // shared by the event's worker and jobs
	if len(c.Command) == 0 {
		if primary {
			return sp, nil, "this job has no command and relies on its image's entrypoint; " +
				"run it on the docker substrate (brigade server --substrate docker)"
		}
		return sp, nil, fmt.Sprintf("sidecar %s has no command and relies on its image's entrypoint; "+
			"run the job on the docker substrate (brigade server --substrate docker)", name)
	}
	sp.argv = append(slices.Clone(c.Command), c.Arguments...)
	sp.notes = append(sp.notes, imageNote(sp.argv, c.Image))
	if note := unhonoured(&jl.Job.Spec, &c, primary); note != "" {
		sp.notes = append(sp.notes, note)
	}

	mm, fail := mountMaps(name, mountFields{source: c.SourceMountPath, workspace: c.WorkspaceMountPath}, p, jl.UseWorkspace)
	if fail != "" {
		return sp, nil, fail
	}
	bind := s.helper != "" && len(mm) > 0
	dir, note := resolveDir(c.WorkingDirectory, mm, p.dir, bind)
	if note != "" {
		sp.notes = append(sp.notes, note)
	}
	if !bind {
		for _, m := range mm {
			v := map[string]string{"sourceMountPath": "BRIGADE_SOURCE", "workspaceMountPath": "BRIGADE_WORKSPACE"}[m.field]
			sp.notes = append(sp.notes, fmt.Sprintf("%slocal substrate: %s %s is not mounted (bind mounts need root on Linux); "+
				"it is the folder %s, also in $%s", notePrefix, m.field, m.target, m.host, v))
		}
	}
	sp.dir = dir
	sp.env = mergeEnv(s.baseEnv, jl.Environment[name], map[string]string{
		"BRIGADE_WORKSPACE": p.workspace,
		"BRIGADE_SOURCE":    p.source,
		"PWD":               dir,
		confineVar:          mark,
	})
	// A bare name is looked up on the host's PATH dirs (mounts do not change
	// them); with bind mounts, a path is checked by the helper once mounted.
	if !bind || !strings.Contains(sp.argv[0], "/") {
		lookDir := dir
		if bind {
			lookDir = p.dir
		}
		path, err := lookPath(sp.argv[0], envValue(sp.env, "PATH"), lookDir)
		if err != nil {
			return sp, nil, fmt.Sprintf("cannot run %q in container %s: %v", sp.argv[0], name, err)
		}
		if !bind {
			sp.path = path
		}
	}
	if !bind {
		return sp, nil, ""
	}
	for _, m := range mm {
		sp.mounts = append(sp.mounts, bindMount{Source: m.host, Target: m.target})
	}
	return sp, topLevel(mm), ""
}

func imageNote(argv []string, image string) string {
	cmd := strings.Join(argv, " ")
	if len(cmd) > 200 {
		cmd = cmd[:200] + "…"
	}
	if image == "" {
		return fmt.Sprintf("%slocal substrate: running %q on the host", notePrefix, cmd)
	}
	return fmt.Sprintf("%slocal substrate: running %q on the host; image %q is not pulled", notePrefix, cmd, image)
}

// launch registers a workload, starts its processes and follows it. A job
// comes with its entry in the confiner (jm.seq 0 for a worker that runs
// nothing: its image was refused).
func (s *Substrate) launch(ref core.WorkloadRef, specs []procSpec, failure string, release func(), jm jobMark) (time.Time, error) {
	w := &workload{s: s, ref: ref, started: time.Now().UTC(), failure: failure, release: release, confineSeq: jm.seq,
		done: make(chan struct{})}
	for _, sp := range specs {
		p := newProc(sp.container, newLogPump(s.opts.Sink, sp.stream, s.log))
		p.pidFile = sp.pidFile
		for _, n := range sp.notes {
			p.logs.Note(n)
		}
		w.procs = append(w.procs, p)
	}
	s.mu.Lock()
	var conflict string
	if s.cleaning[ref.EventID] > 0 {
		conflict = fmt.Sprintf("event %s is being cleaned up; its workloads cannot start", ref.EventID)
	} else if old := s.workloads[ref]; old != nil && !old.isDone() {
		conflict = fmt.Sprintf("the %s is already running", ref)
	} else {
		s.workloads[ref] = w
	}
	s.mu.Unlock()
	if conflict != "" {
		if release != nil {
			release()
		}
		w.endConfinement()
		return time.Time{}, &core.ConflictError{Type: "Workload", ID: ref.String(), Reason: "local substrate: " + conflict}
	}
	for _, p := range w.procs {
		p.logs.Start()
	}
	if failure != "" {
		w.procs[0].logs.Note(notePrefix + failure)
	} else {
		for i, sp := range specs {
			if err := s.startProc(w.procs[i], sp); err != nil {
				w.failure = fmt.Sprintf("cannot start %q in container %s: %v", sp.argv[0], sp.container, err)
				w.procs[0].logs.Note(notePrefix + w.failure)
				for _, p := range w.procs[:i] {
					p.signal(syscall.SIGKILL)
				}
				break
			}
		}
		// A Stop (or Cleanup) may have come while the processes started.
		w.mu.Lock()
		stopped, late := w.stopped, !w.killAt.IsZero() && time.Now().After(w.killAt)
		w.mu.Unlock()
		switch {
		case late:
			w.signal(syscall.SIGKILL)
		case stopped:
			w.signal(syscall.SIGTERM)
		}
	}
	s.log.Debug("local substrate: workload started", "workload", ref.String(), "failure", w.failure)
	go func() {
		// Off the start's path: reading a new process's start time for its
		// pid file waits for its exec to finish. Before the reaping in run,
		// so each process can still be read (as a zombie at worst).
		for _, p := range w.procs {
			if p.cmd != nil {
				s.recordPid(p)
			}
		}
		w.run()
	}()
	return w.started, nil
}

// devNull is every process's standard input, opened once.
var devNull = sync.OnceValues(func() (*os.File, error) { return os.Open(os.DevNull) })

// startProc starts one process group whose stdout and stderr share a pipe.
func (s *Substrate) startProc(p *proc, sp procSpec) error {
	if sp.standby {
		if sb := s.standbys.get(sp.argv); sb != nil {
			err := s.handOver(p, sb, sp)
			if err == nil {
				return nil // launch records its pid
			}
			s.log.Warn("local substrate: a standby worker was unusable; starting one anew", "err", err)
		}
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("creating the log pipe: %w", err)
	}
	cmd := &exec.Cmd{Path: sp.path, Args: sp.argv, Dir: sp.dir, Env: sp.env, Stdout: wr, Stderr: wr,
		SysProcAttr: sysProcAttr(false)}
	if f, err := devNull(); err == nil {
		cmd.Stdin = f // else exec opens it on every start
	}
	if len(sp.mounts) > 0 {
		arg, err := json.Marshal(helperSpec{Mounts: sp.mounts, Dir: sp.dir, Argv: sp.argv})
		if err != nil {
			wr.Close()
			r.Close()
			return err
		}
		cmd.Path, cmd.Args, cmd.Dir = s.helper, []string{s.helper, helperMarker, string(arg)}, s.eventsDir
		cmd.SysProcAttr = sysProcAttr(true)
	}
	p.mu.Lock()
	err = cmd.Start()
	if err == nil {
		p.cmd, p.pid = cmd, cmd.Process.Pid
	}
	p.mu.Unlock()
	wr.Close()
	if err != nil {
		r.Close()
		return err
	}
	p.logs.read(r)
	return nil // launch records its pid
}

// recordPid writes the process group's pid file (see Restarts in the
// package documentation).
func (s *Substrate) recordPid(p *proc) {
	if p.pidFile != "" {
		start, err := recordGroup(p.pidFile, p.pid)
		p.pidStart, p.recorded = start, err == nil
		if err != nil {
			s.log.Warn("local substrate: cannot record a process group; Cleanup after a restart will not find it",
				"file", p.pidFile, "err", err)
		}
	}
}

// mountPoint is a host directory that bind mounts use.
type mountPoint struct {
	refs    int
	created []string // directories the substrate created for it, deepest first
}

// acquireMountPoints makes sure every target exists on the host (creating
// missing ones) and holds it until release is called.
func (s *Substrate) acquireMountPoints(targets []string) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var held []string
	releaseLocked := func() {
		for _, t := range held {
			s.releaseMountPoint(t)
		}
	}
	for _, t := range targets {
		if err := s.acquireMountPoint(t); err != nil {
			releaseLocked()
			return nil, err
		}
		held = append(held, t)
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		releaseLocked()
	}, nil
}

func (s *Substrate) acquireMountPoint(t string) error {
	if mp := s.mounts[t]; mp != nil {
		mp.refs++
		return nil
	}
	fi, err := os.Stat(t)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("mount path %s is a file on the host; bind mounts need a directory there: choose another path", t)
		}
		s.mounts[t] = &mountPoint{refs: 1}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mount path %s: %w", t, err)
	}
	var missing []string
	for d := t; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(t, 0o755); err != nil {
		return fmt.Errorf("cannot create the mount point %s on the host (%v): create it by hand or choose another path", t, err)
	}
	s.mounts[t] = &mountPoint{refs: 1, created: missing}
	return nil
}

// releaseMountPoint drops a reference; the last one removes the
// directories created for it, as long as they are empty and no other mount
// point uses them.
func (s *Substrate) releaseMountPoint(t string) {
	mp := s.mounts[t]
	if mp == nil {
		return
	}
	if mp.refs--; mp.refs > 0 {
		return
	}
	delete(s.mounts, t)
	for _, d := range mp.created {
		if _, inUse := s.mounts[d]; inUse || os.Remove(d) != nil {
			break
		}
	}
}
