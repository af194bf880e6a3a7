//go:build linux

package local

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// helperMarker is the hidden first argument that turns the program into the
// mount helper.
const helperMarker = "__brigade-local-mount"

// helperWired records that this program's main calls MaybeRunMountHelper,
// so that re-executing it with helperMarker reaches the helper.
var helperWired atomic.Bool

// helperSpec is what the helper does: mount, change directory, exec.
type helperSpec struct {
	Mounts []bindMount `json:"mounts,omitempty"`
	Dir    string      `json:"dir,omitempty"`
	Argv   []string    `json:"argv,omitempty"`
	Probe  bool        `json:"probe,omitempty"`
}

// bindMount makes Source visible at Target.
type bindMount struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// MaybeRunMountHelper must be the first thing main (or TestMain) does in a
// program that uses the local substrate. When the program was started as
// the substrate's mount helper it never returns: it is already in a private
// mount namespace (the substrate asked for one with CLONE_NEWNS), bind
// mounts the event's folders at the job's mount paths, changes to the
// working directory and execs the job's command. Otherwise it only records
// that the helper is available and returns at once. Without this call the
// substrate maps mount paths to folders instead.
func MaybeRunMountHelper() {
	helperWired.Store(true)
	if len(os.Args) < 3 || os.Args[1] != helperMarker {
		return
	}
	os.Exit(runMountHelper(os.Args[2]))
}

// runMountHelper returns an exit code only when it could not exec; it says
// why on stderr, which is the job's log.
func runMountHelper(arg string) int {
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(os.Stderr, notePrefix+format+"\n", args...)
		return code
	}
	var spec helperSpec
	if err := json.Unmarshal([]byte(arg), &spec); err != nil {
		return fail(126, "local substrate: mount helper: bad instructions: %v", err)
	}
	// Parents first, so that a mount path inside another lands in the
	// folder mounted there rather than on the host.
	mounts := slices.Clone(spec.Mounts)
	slices.SortStableFunc(mounts, func(a, b bindMount) int {
		return strings.Count(filepath.Clean(a.Target), "/") - strings.Count(filepath.Clean(b.Target), "/")
	})
	for _, m := range mounts {
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			return fail(126, "local substrate: cannot create mount point %s: %v", m.Target, err)
		}
		if err := syscall.Mount(m.Source, m.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fail(126, "local substrate: cannot bind-mount %s at %s: %v", m.Source, m.Target, err)
		}
	}
	if spec.Probe {
		return 0
	}
	if len(spec.Argv) == 0 {
		return fail(126, "local substrate: mount helper: no command")
	}
	if err := os.Chdir(spec.Dir); err != nil {
		return fail(126, "local substrate: cannot enter working directory %s: %v", spec.Dir, err)
	}
	_ = os.Setenv("PWD", spec.Dir)
	path, err := lookPath(spec.Argv[0], os.Getenv("PATH"), spec.Dir)
	if err != nil {
		return fail(127, "cannot run %q: %v", spec.Argv[0], err)
	}
	err = syscall.Exec(path, spec.Argv, os.Environ())
	return fail(126, "cannot run %q: %v", spec.Argv[0], err)
}

// sysProcAttr puts the process in its own process group and, with mounts,
// in a new mount namespace (os/exec also makes "/" private in it, so no
// mount leaks to the host).
func sysProcAttr(mountNamespace bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if mountNamespace {
		a.Unshareflags = syscall.CLONE_NEWNS
	}
	return a
}

// probeMountNamespaces returns the helper binary when bind mounts work
// here; else "" (and says why in the log).
func (s *Substrate) probeMountNamespaces() string {
	why := ""
	switch {
	case s.opts.NoMountNamespace:
		why = "turned off by Options.NoMountNamespace"
	case !helperWired.Load():
		why = "the program's main does not call local.MaybeRunMountHelper"
	case os.Geteuid() != 0:
		why = "not running as root"
	}
	if why != "" {
		s.log.Debug("local substrate: no bind mounts", "why", why)
		return ""
	}
	probe.once.Do(runProbe)
	if probe.err != nil {
		s.log.Warn("local substrate: no bind mounts: " + probe.err.Error())
		return ""
	}
	return probe.exe
}

// probe is the outcome of trying the mount helper once per process.
var probe struct {
	once sync.Once
	exe  string
	err  error
}

// runProbe starts the helper once in a private mount namespace (os/exec
// makes "/" private there, which needs CAP_SYS_ADMIN like the bind mounts).
func runProbe() {
	exe, err := os.Executable()
	if err != nil {
		probe.err = fmt.Errorf("cannot find the program's own binary: %w", err)
		return
	}
	arg, _ := json.Marshal(helperSpec{Probe: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, helperMarker, string(arg))
	cmd.SysProcAttr = sysProcAttr(true)
	if out, err := cmd.CombinedOutput(); err != nil {
		probe.err = fmt.Errorf("a private mount namespace could not be set up (the server needs CAP_SYS_ADMIN): %v %s",
			err, strings.TrimSpace(string(out)))
		return
	}
	probe.exe = exe
}
