//go:build linux

package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"golang.org/x/sys/unix"
)

// waitSpareReady waits until the oldest spare may be taken: a sweep that
// started after it came in found nothing to kill.
func waitSpareReady(t *testing.T, s *Substrate) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s.spares.mu.Lock()
		ready := len(s.spares.ready) > 0 && s.confine.sweptSince(s.spares.ready[0].stamp)
		s.spares.mu.Unlock()
		if ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no spare event folder became ready within a minute")
		}
		s.confine.trigger()
		time.Sleep(10 * time.Millisecond)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// wantFreshFolder fails unless dir holds exactly pids/, workspace/ and
// source/, empty, each with the mode of a folder made just now beside it.
func wantFreshFolder(t *testing.T, s *Substrate, dir string) {
	t.Helper()
	probe := filepath.Join(s.eventsDir, ".probe")
	if err := os.Mkdir(probe, 0o750); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(probe)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(probe)
	mode := fi.Mode()
	check := func(path string) []string {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode() != mode {
			t.Errorf("%s: %v, %v; want a folder with mode %s", path, fi.Mode(), err, mode)
			return nil
		}
		names, err := readNames(path)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		return names
	}
	if names := check(dir); !slices.Equal(names, []string{"pids", "source", "workspace"}) {
		t.Errorf("%s holds %q; want only pids, source and workspace", dir, names)
	}
	for _, sub := range spareSubdirs {
		if names := check(filepath.Join(dir, sub)); len(names) > 0 {
			t.Errorf("%s/%s holds %q; want it empty", dir, sub, names)
		}
	}
}

// TestReusedFolderShowsNothingOfTheLastEvent: a job leaves files, nested
// and read-only folders, and symlinks out into every folder of its event,
// and changes the folders' modes. The next event gets the same folder
// (same inode), holding nothing but its three empty subfolders, and what
// the symlinks pointed at is untouched.
func TestReusedFolderShowsNothingOfTheLastEvent(t *testing.T) {
	f := newFixture(t, Options{NoMountNamespace: true})
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(outside, "dir"), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"target", "dir/inner"} {
		if err := os.WriteFile(filepath.Join(outside, p), []byte("keep"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	jl := f.launch("litter", sh(`set -e
ev="$BRIGADE_WORKSPACE/.."
for d in "$BRIGADE_WORKSPACE" "$BRIGADE_SOURCE" "$ev/pids" "$ev"; do
  echo secret > "$d/file"; echo secret > "$d/.hidden"
  mkdir -p "$d/nested/deep"; echo secret > "$d/nested/deep/file"
  mkdir "$d/ro"; echo secret > "$d/ro/file"; mkdir "$d/ro/sub"; chmod 500 "$d/ro/sub" "$d/ro"
  ln -s "$OUTSIDE" "$d/out"; ln -s "$OUTSIDE/target" "$d/outfile"; ln -s "$OUTSIDE/dir" "$d/outdir"
  mkfifo "$d/fifo"
done
chmod 777 "$BRIGADE_WORKSPACE"; chmod 500 "$BRIGADE_SOURCE"; chmod 2755 "$ev"
`))
	jl.Environment[jl.Job.Name] = map[string]string{"OUTSIDE": outside}
	if st, lines := f.run(jl); st.Phase != core.PhaseSucceeded {
		t.Fatalf("the job ended %s: %s\n%q", st.Phase, st.Reason, lines)
	}
	old := f.s.paths(f.ev)
	ino := inode(t, old.dir)
	if err := f.s.Cleanup(f.ctx, f.ev); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(old.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the event's folder is still there after Cleanup (%v)", err)
	}
	if n := f.s.spares.len(); n != 1 {
		t.Fatalf("%d spare folders after Cleanup; want 1", n)
	}
	for p, want := range map[string]string{"target": "keep", "dir/inner": "keep"} {
		if b, err := os.ReadFile(filepath.Join(outside, p)); err != nil || string(b) != want {
			t.Errorf("%s outside the event folder: %q, %v; want it untouched", p, b, err)
		}
	}

	waitSpareReady(t, f.s)
	f.ev = "ev-next"
	p, err := f.s.prepare(f.ev, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := inode(t, p.dir); got != ino {
		t.Fatalf("the next event got a new folder (inode %d, the spare's %d): the test does not cover reuse", got, ino)
	}
	wantFreshFolder(t, f.s, p.dir)

	// The next event's worker runs in it and sees the same.
	w := &core.WorkerLaunch{Event: &core.Event{Metadata: core.ObjectMeta{ID: f.ev}}, EventDocument: []byte(`{}`),
		Command: []string{"sh", "-c", `cd "$BRIGADE_WORKSPACE/.." && ls -A . source workspace`}}
	if _, err := f.s.StartWorker(f.ctx, w); err != nil {
		t.Fatal(err)
	}
	if st, err := f.s.Wait(f.ctx, core.WorkloadRef{EventID: f.ev}); err != nil || st.Phase != core.PhaseSucceeded {
		t.Fatalf("worker: %+v %v", st, err)
	}
	lines := f.sink.Lines(core.LogStream{EventID: f.ev, Container: "worker"})
	want := []string{".:", "event.json", "pids", "source", "workspace", "", "source:", "", "workspace:"}
	if !slices.Equal(lines, want) {
		t.Errorf("the worker of the next event sees %q; want %q", lines, want)
	}
}

// TestFolderThatCannotBeScrubbedIsRemoved: a subfolder that became a
// symlink or a file, or a folder with an extended attribute, is removed
// as before, not kept; what a symlink pointed at is untouched.
func TestFolderThatCannotBeScrubbedIsRemoved(t *testing.T) {
	s := newTestSubstrate(t, Options{})
	ctx := context.Background()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "keep"), []byte("keep"), 0o640); err != nil {
		t.Fatal(err)
	}
	for name, spoil := range map[string]func(t *testing.T, p eventPaths) error{
		"workspace-is-a-symlink": func(_ *testing.T, p eventPaths) error {
			return errors.Join(os.Remove(p.workspace), os.Symlink(outside, p.workspace))
		},
		"source-is-a-file": func(_ *testing.T, p eventPaths) error {
			return errors.Join(os.Remove(p.source), os.WriteFile(p.source, []byte("x"), 0o600))
		},
		"pids-is-a-symlink-to-a-folder-inside": func(_ *testing.T, p eventPaths) error {
			return errors.Join(os.Remove(p.pids), os.Symlink(p.workspace, p.pids))
		},
		"xattr": func(t *testing.T, p eventPaths) error {
			err := unix.Setxattr(p.workspace, "user.brigade-test", []byte("secret"), 0)
			if errors.Is(err, unix.ENOTSUP) {
				_ = os.RemoveAll(p.dir)
				t.Skip("no user extended attributes on this file system")
			}
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := s.prepare("ev-"+name, true)
			if err != nil {
				t.Fatal(err)
			}
			if err := spoil(t, p); err != nil {
				t.Fatal(err)
			}
			before := s.spares.len()
			if err := s.Cleanup(ctx, "ev-"+name); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(p.dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the event's folder is still there after Cleanup (%v)", err)
			}
			if n := s.spares.len(); n != before {
				t.Errorf("%d spare folders after Cleanup; want %d: the folder was kept", n, before)
			}
			if b, err := os.ReadFile(filepath.Join(outside, "keep")); err != nil || string(b) != "keep" {
				t.Errorf("the file the symlink pointed at: %q, %v", b, err)
			}
		})
	}
}

// TestLockedFoldersAreCleanedUp: folders a job left without any
// permission are scrubbed (as root) or removed (as another user), never
// left behind.
func TestLockedFoldersAreCleanedUp(t *testing.T) {
	s := newTestSubstrate(t, Options{})
	p, err := s.prepare("ev-locked", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{p.workspace, filepath.Join(p.source, "inner")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "file"), []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{filepath.Join(p.source, "inner"), p.workspace, p.dir} {
		if err := os.Chmod(d, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Cleanup(context.Background(), "ev-locked"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the event's folder is still there after Cleanup (%v)", err)
	}
	s.spares.swept = func(uint64) bool { return true }
	t.Logf("kept as a spare: %v", s.spares.len() == 1)
	if s.spares.len() == 1 {
		q, err := s.prepare("ev-next", true)
		if err != nil {
			t.Fatal(err)
		}
		wantFreshFolder(t, s, q.dir)
		if err := s.Cleanup(context.Background(), "ev-next"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSpareTakenOnlyAfterASweepAndIfUntouched: a spare waits for a sweep
// that found no process of its event; one written into meanwhile (by a
// process that escaped its job) is removed, not used.
func TestSpareTakenOnlyAfterASweepAndIfUntouched(t *testing.T) {
	s := newTestSubstrate(t, Options{})
	swept := false
	s.spares.swept = func(uint64) bool { return swept }
	put := func(ev string) {
		t.Helper()
		if _, err := s.prepare(ev, true); err != nil {
			t.Fatal(err)
		}
		if !s.spares.put(s.paths(ev).dir) {
			t.Fatal("a clean event folder was not kept")
		}
	}
	put("ev-a")
	if _, err := s.prepare("ev-b", true); err != nil {
		t.Fatal(err)
	}
	if s.spares.len() != 1 {
		t.Fatal("a spare was taken before a sweep")
	}

	swept = true
	s.spares.mu.Lock()
	late := filepath.Join(s.spares.ready[0].path, "workspace", "late")
	s.spares.mu.Unlock()
	if err := os.WriteFile(late, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := s.prepare("ev-c", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(p.workspace, "late")); err == nil {
		t.Fatal("the next event got a spare written into after it was scrubbed")
	}
	if s.spares.len() != 0 || !errors.Is(lstatErr(filepath.Dir(filepath.Dir(late))), fs.ErrNotExist) {
		t.Error("the spare written into is still in the pool or on disk")
	}

	put("ev-b")
	if _, err := s.prepare("ev-c", true); err != nil { // has its folder: takes no spare
		t.Fatal(err)
	}
	if s.spares.len() != 1 {
		t.Error("a spare was taken for an event that has its folder")
	}
	for _, ev := range []string{"ev-c", "ev-d"} {
		if err := s.Cleanup(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

func lstatErr(path string) error {
	_, err := os.Lstat(path)
	return err
}

// TestSparesDoNotOutliveTheServer: the pool is no event (its name is none
// an event may have), a new server on the data dir removes the one an
// earlier server left, and Close removes its own.
func TestSparesDoNotOutliveTheServer(t *testing.T) {
	dataDir := t.TempDir()
	ctx := context.Background()
	s1 := newTestSubstrate(t, Options{DataDir: dataDir})
	if _, err := s1.prepare("ev-a", true); err != nil {
		t.Fatal(err)
	}
	if err := s1.Cleanup(ctx, "ev-a"); err != nil {
		t.Fatal(err)
	}
	if s1.spares.len() != 1 {
		t.Fatal("the event folder was not kept as a spare")
	}
	// What a dead server's job may have written into its pool.
	s1.spares.mu.Lock()
	spare := s1.spares.ready[0].path
	s1.spares.mu.Unlock()
	if err := os.WriteFile(filepath.Join(spare, "workspace", "late"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}

	s2 := newTestSubstrate(t, Options{DataDir: dataDir}) // s1 never closed: as after a crash
	if names, err := readNames(s2.spares.dir); err != nil || len(names) != 0 {
		t.Errorf("the new server's pool holds %q (%v); want the earlier one's removed", names, err)
	}
	if refs, err := s2.List(ctx); err != nil || len(refs) != 0 {
		t.Errorf("List = %v, %v; want nothing", refs, err)
	}
	var bad *core.BadRequestError
	if err := s2.Cleanup(ctx, spareDir); !errors.As(err, &bad) {
		t.Errorf("Cleanup(%q) = %v; want a BadRequestError", spareDir, err)
	}
	jl := &core.JobLaunch{EventID: spareDir, Job: &core.Job{Name: "j", Spec: core.JobSpec{PrimaryContainer: sh("true")}}}
	if _, err := s2.StartJob(ctx, jl); !errors.As(err, &bad) {
		t.Errorf("StartJob in event %q = %v; want a BadRequestError", spareDir, err)
	}
	if _, err := s2.prepare("ev-b", true); err != nil {
		t.Fatal(err)
	}
	if err := s2.Cleanup(ctx, "ev-b"); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(s2.spares.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the pool is still there after Close (%v)", err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if names, err := readNames(filepath.Join(dataDir, "events")); err != nil || len(names) != 0 {
		t.Errorf("the events folder holds %q (%v) after both servers closed; want nothing", names, err)
	}
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	return names, errors.Join(err, f.Close())
}
