package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
)

// childServer is `brigade server` running as a child process, so that its
// resident memory is its own.
type childServer struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}

	mu     sync.Mutex
	notes  []string // the first warnings and errors it logged
	nNotes int
}

// startServer starts bin as a server on a fresh data dir under dir, and
// returns once it listens.
func startServer(bin, dir, database string, maxWorkers int) (*childServer, error) {
	cmd := exec.Command(bin, "server", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "child"),
		"--root-password", "bench-password", "--max-workers", strconv.Itoa(maxWorkers), "--cleanup-delay", "1s")
	if database != "" {
		cmd.Env = append(os.Environ(), "BRIGADE_DATABASE="+database) // not in the arguments: they show in ps
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &childServer{cmd: cmd, exited: make(chan struct{})}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.logLine(sc.Text(), listening)
		}
		_, _ = io.Copy(io.Discard, stderr) // a line too long for the scanner
		_ = cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.addr = <-listening:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("%s server exited: %v; it logged: %s", bin, cmd.ProcessState, strings.Join(s.notes, "; "))
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s server did not listen within 30 s", bin)
	}
}

// logLine looks for the listening address and keeps the first warnings and
// errors.
func (s *childServer) logLine(line string, listening chan<- string) {
	if strings.Contains(line, "brigade server listening") {
		for _, f := range strings.Fields(line) {
			if a, ok := strings.CutPrefix(f, "addr="); ok {
				listening <- a
			}
		}
		return
	}
	if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
		s.mu.Lock()
		if s.nNotes++; len(s.notes) < 5 {
			s.notes = append(s.notes, line)
		}
		s.mu.Unlock()
	}
}

// warnings returns how many warnings and errors the server logged and the
// first few.
func (s *childServer) warnings() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nNotes, append([]string(nil), s.notes...)
}

// stop asks the server to shut down (SIGTERM), and kills it after 15 s.
func (s *childServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// client logs in as root, with a connection pool for conns concurrent calls.
func (s *childServer) client(ctx context.Context, conns int) (*client.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	c := client.New(s.addr, "", client.WithHTTPClient(&http.Client{Transport: tr}))
	tok, err := c.CreateRootSession(ctx, "bench-password")
	if err != nil {
		return nil, err
	}
	return c.WithToken(tok.Value), nil
}

// cpu reads the CPU time the server used and that of its children, from
// /proc: the ones it has reaped (workers, jobs, standbys that ended) and
// the ones still running (standbys waiting for their next event), so that
// a figure does not depend on when the standbys happen to exit.
func (s *childServer) cpu() (self, children time.Duration, err error) {
	pid := s.cmd.Process.Pid
	st, err := procStat(pid)
	if err != nil {
		return 0, 0, err
	}
	// utime, stime, cutime and cstime, in clock ticks.
	self, children = ticks(st[11]+st[12]), ticks(st[13]+st[14])
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		cs, err := procStat(child)
		if err != nil || cs[1] != int64(pid) { // gone, or not the server's child
			continue
		}
		children += ticks(cs[11] + cs[12])
	}
	return self, children, nil
}

// procStat reads the numeric fields of /proc/<pid>/stat after the
// command's closing parenthesis (state, a letter, reads as 0): ppid is
// [1], utime [11], stime [12], cutime [13], cstime [14].
func procStat(pid int) ([]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 15 {
		return nil, fmt.Errorf("short /proc stat line: %q", b)
	}
	out := make([]int64, 15)
	for i := 1; i < 15; i++ {
		if out[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ticks converts clock ticks to time (USER_HZ is 100 on Linux).
func ticks(n int64) time.Duration { return time.Duration(n) * 10 * time.Millisecond }

// memory reads the server's resident set (VmRSS) and its peak (VmHWM) in kB.
func (s *childServer) memory() (rss, peak int64, err error) {
	v, err := s.status("VmRSS:", "VmHWM:")
	return v[0], v[1], err
}

// rssParts splits the server's resident set (kB): anonymous memory, and
// pages of files (the binary's code and data, which the kernel may drop).
// A binary on tmpfs (TMPDIR=/dev/shm) counts as shared memory, not file
// pages; it is the same code, so it is added to them.
func (s *childServer) rssParts() (anon, file int64, err error) {
	v, err := s.status("RssAnon:", "RssFile:", "RssShmem:")
	return v[0], v[1] + v[2], err
}

// pssParts is rssParts with each page divided by the number of processes
// mapping it (kB): the binary's pages are shared with the workers that run
// the same binary, and are in the page cache whether or not it maps them.
func (s *childServer) pssParts() (anon, file int64, err error) {
	v, err := s.procFields("smaps_rollup", "Pss_Anon:", "Pss_File:", "Pss_Shmem:")
	return v[0], v[1] + v[2], err
}

// status reads the named kB fields of the server's /proc status file.
func (s *childServer) status(names ...string) ([]int64, error) {
	return s.procFields("status", names...)
}

// procFields reads the named kB fields of one of the server's /proc files.
func (s *childServer) procFields(file string, names ...string) ([]int64, error) {
	out := make([]int64, len(names))
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", s.cmd.Process.Pid, file))
	if err != nil {
		return out, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if i := slices.Index(names, f[0]); i >= 0 {
			if out[i], err = strconv.ParseInt(f[1], 10, 64); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// goMemory reads, from the server's /metrics, the bytes of its Go heap in
// use, of heap it holds idle but has not returned to the system, and of
// goroutine stacks: what of its anonymous memory the Go runtime accounts
// for (the rest is SQLite's and the runtime's own).
func (s *childServer) goMemory(ctx context.Context) (heap, idle, stacks int64, err error) {
	addr := s.addr
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/metrics", nil)
	if err != nil {
		return 0, 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	v := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && strings.HasPrefix(f[0], "go_memstats_") {
			if x, err := strconv.ParseFloat(f[1], 64); err == nil {
				v[f[0]] = x
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, 0, err
	}
	heap = int64(v["go_memstats_heap_inuse_bytes"])
	idle = int64(v["go_memstats_heap_idle_bytes"] - v["go_memstats_heap_released_bytes"])
	return heap, idle, int64(v["go_memstats_stack_inuse_bytes"]), nil
}
