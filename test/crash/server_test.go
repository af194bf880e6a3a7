package crash

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
)

const rootPassword = "crash-suite-password"

// buildServer compiles the brigade command the way `make build` does.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "brigade")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/brigadeplatform/brigade/cmd/brigade")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/brigade: %v\n%s", err, out)
	}
	return bin
}

// generation is one run of the server between a start and a kill. Its
// ready channel is closed once it serves; c is set before that.
type generation struct {
	n     int
	ready chan struct{}
	c     *client.Client
}

// server is the real binary on one data dir, SIGKILLed and restarted on the
// same address. Clients follow it through its generations.
type server struct {
	t    *testing.T
	bin  string
	dir  string
	addr string
	args []string
	env  []string

	mu     sync.Mutex
	cur    *generation
	cmd    *exec.Cmd
	tail   []string // the last lines the server (and what it started) wrote to stderr
	logs   []*os.File
	locked []string // starts refused because the data dir was still locked
}

func newServer(t *testing.T, bin, dir string, env []string, args ...string) *server {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{t: t, bin: bin, dir: dir, addr: addr, env: env, args: args,
		cur: &generation{ready: make(chan struct{})}}
	t.Cleanup(func() {
		s.mu.Lock()
		cmd := s.cmd
		s.mu.Unlock()
		if cmd != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		for _, r := range s.logs {
			r.Close()
		}
	})
	return s
}

// current is the generation running now, or the one about to start.
func (s *server) current() *generation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *server) keep(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tail = append(s.tail, line)
	if len(s.tail) > 300 {
		s.tail = s.tail[len(s.tail)-300:]
	}
}

// stderr is the end of what the server wrote, for failure messages.
func (s *server) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// start runs the binary and returns once it logged that it listens and
// answered a root login. A start refused because the data dir's lock is
// still held (the server waits a few seconds for it) is recorded, with who
// held it, and tried again once no process holds the lock.
func (s *server) start() {
	s.t.Helper()
	for try := 1; ; try++ {
		holders, ok := s.launch()
		if ok {
			return
		}
		if holders == "" {
			holders = "a process gone before it could be named"
		}
		s.mu.Lock()
		s.locked = append(s.locked, fmt.Sprintf("start %d (try %d): the lock was held by %s", s.cur.n, try, holders))
		s.mu.Unlock()
		if try == 10 {
			s.t.Fatalf("start %d: refused 10 times because the data dir is locked; its stderr:\n%s", s.cur.n, s.stderr())
		}
		lock := filepath.Join(s.dir, "server.lock")
		deadline := time.Now().Add(time.Minute)
		for len(lockHolders(lock)) > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // other processes' exits: re-look
		}
	}
}

// launch starts the binary once. A start refused because the data dir is
// locked returns ok false and who held the lock then.
func (s *server) launch() (holders string, ok bool) {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"server", "--addr", s.addr, "--data-dir", s.dir,
		"--root-password", rootPassword, "--log-level", "info"}, s.args...)...)
	cmd.Env = s.env
	r, w, err := os.Pipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	w.Close() // EOF on r: the server and everything it started have exited
	s.mu.Lock()
	s.cmd = cmd
	s.logs = append(s.logs, r)
	gen := s.cur
	s.mu.Unlock()
	listening, exited := make(chan struct{}), make(chan struct{})
	var lockedOut atomic.Bool
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		announced := false
		for sc.Scan() {
			s.keep(fmt.Sprintf("[start %d] %s", gen.n, sc.Text()))
			if strings.Contains(sc.Text(), "uses the data dir") {
				lockedOut.Store(true)
			}
			if !announced && strings.Contains(sc.Text(), "brigade server listening") {
				announced = true
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-exited:
		if lockedOut.Load() {
			held := lockHolders(filepath.Join(s.dir, "server.lock"))
			cmd.Wait()
			return held, false
		}
		s.t.Fatalf("start %d: the server exited before it listened; its stderr:\n%s", gen.n, s.stderr())
	case <-time.After(2 * time.Minute): // generous: it only turns a hang into a failure
		s.t.Fatalf("start %d: the server did not listen within 2 minutes; its stderr:\n%s", gen.n, s.stderr())
	}
	gen.c = client.New("http://"+s.addr, s.login())
	close(gen.ready)
	return "", true
}

// refusedStarts says which starts found the data dir locked.
func (s *server) refusedStarts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.locked...)
}

func (s *server) login() string {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/v2/sessions?root=true", nil)
	req.SetBasicAuth("root", rootPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("root login: %v; the server's stderr:\n%s", err, s.stderr())
	}
	defer resp.Body.Close()
	var tok struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.Value == "" {
		s.t.Fatalf("root login answered %d (%v); the server's stderr:\n%s", resp.StatusCode, err, s.stderr())
	}
	return tok.Value
}

// kill SIGKILLs the server. The next generation exists (not ready) before
// the signal, so a client whose request failed finds it.
func (s *server) kill() {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.cur = &generation{n: s.cur.n + 1, ready: make(chan struct{})}
	s.mu.Unlock()
	if err := cmd.Process.Kill(); err != nil {
		s.t.Fatalf("SIGKILL: %v", err)
	}
	cmd.Wait()
}

// stop ends the server the ordinary way (SIGTERM) and waits for it.
func (s *server) stop() {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.cur = &generation{n: s.cur.n + 1, ready: make(chan struct{})}
	s.mu.Unlock()
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Errorf("the server exited with %v after SIGINT; its stderr:\n%s", err, s.stderr())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		s.t.Errorf("the server did not exit within 2 minutes of SIGINT; its stderr:\n%s", s.stderr())
	}
}

// wait blocks until the generation g serves or ctx ends.
func (g *generation) wait(ctx context.Context) bool {
	select {
	case <-g.ready:
		return true
	case <-ctx.Done():
		return false
	}
}
