package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// childServer is `brigade server` started by the soak as a child process
// on a fresh data dir, so that its memory, goroutines and files are its own.
type childServer struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}

	mu       sync.Mutex
	warnings []string // the first warnings and errors it logged
	nWarn    int
}

// buildBrigade builds ./cmd/brigade into dir as `make build` does (static).
func buildBrigade(dir string) (string, error) {
	out := filepath.Join(dir, "brigade")
	cmd := exec.Command("go", "build", "-o", out, "github.com/brigadeplatform/brigade/cmd/brigade")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the brigade binary: %w: %s (run from the module's folder, or pass -brigade)", err, msg)
	}
	return out, nil
}

// startServer starts bin as a server and returns once it listens.
func startServer(bin, dataDir, password string, maxWorkers int) (*childServer, error) {
	cmd := exec.Command(bin, "server", "--addr", "127.0.0.1:0", "--data-dir", dataDir,
		"--root-password", password, "--max-workers", strconv.Itoa(maxWorkers), "--cleanup-delay", "1s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s server: %w", bin, err)
	}
	s := &childServer{cmd: cmd, exited: make(chan struct{})}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.logLine(sc.Text(), listening)
		}
		_, _ = io.Copy(io.Discard, stderr) // past a line too long for the scanner
		_ = cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.url = <-listening:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("%s server exited at start: %v; it logged: %s", bin, cmd.ProcessState, strings.Join(s.warnings, "; "))
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s server did not listen within 60 s", bin)
	}
}

// logLine picks the listening address and keeps the first warnings.
func (s *childServer) logLine(line string, listening chan<- string) {
	if strings.Contains(line, "brigade server listening") {
		for _, f := range strings.Fields(line) {
			if a, ok := strings.CutPrefix(f, "addr="); ok {
				select {
				case listening <- a:
				default:
				}
			}
		}
		return
	}
	if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
		s.mu.Lock()
		if s.nWarn++; len(s.warnings) < 5 {
			s.warnings = append(s.warnings, line)
		}
		s.mu.Unlock()
	}
}

// logged returns how many warnings and errors the server logged, and the
// first few.
func (s *childServer) logged() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nWarn, append([]string(nil), s.warnings...)
}

// alive reports whether the server still runs.
func (s *childServer) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop asks the server to shut down (SIGTERM) and kills it after 30 s.
func (s *childServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}
