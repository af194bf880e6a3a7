package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/sqlite"
)

// buildBinary compiles this command once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "brigade")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startBinary runs `brigade server` configured through the environment and
// returns once it serves. It waits on the server's own signal, not by
// polling: the server logs "brigade server listening" (at info level) once
// its listener is open, and its stderr reaching EOF first means it exited.
// Then /healthz must answer 200.
func startBinary(t *testing.T, bin, dataDir, addr string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "server")
	cmd.Env = append(append(os.Environ(), "BRIGADE_ADDR="+addr, "BRIGADE_DATA_DIR="+dataDir,
		"BRIGADE_ROOT_PASSWORD=e2e-password", "BRIGADE_LOG_LEVEL=info"), env...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		t.Fatal(err)
	}
	w.Close() // the server holds the write end: EOF on r means it exited
	stderr := &tailLines{max: 200}
	listening, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		announced := false
		for sc.Scan() {
			stderr.add(sc.Text())
			if !announced && strings.Contains(sc.Text(), "brigade server listening") {
				announced = true
				close(listening)
			}
		}
		_, _ = io.Copy(io.Discard, r) // keep draining after a line too long to scan
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		r.Close() // ends the reader even if a child process still holds the pipe
	})
	deadline := time.NewTimer(2 * time.Minute) // generous: it only turns a hang into a failure
	defer deadline.Stop()
	select {
	case <-listening:
	case <-exited:
		t.Fatalf("the server exited before it listened; its stderr:\n%s", stderr)
	case <-deadline.C:
		t.Fatalf("the server did not log \"brigade server listening\" within 2 minutes; its stderr:\n%s", stderr)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("the server said it listens, but /healthz failed: %v; its stderr:\n%s", err, stderr)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz answered %d; the server's stderr:\n%s", resp.StatusCode, stderr)
	}
	return cmd
}

// tailLines keeps the last max lines written to it, for failure messages.
type tailLines struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (l *tailLines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > l.max {
		l.lines = l.lines[len(l.lines)-l.max:]
	}
}

func (l *tailLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func rootToken(t *testing.T, addr string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v2/sessions?root=true", nil)
	req.SetBasicAuth("root", "e2e-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ Value string }
	json.NewDecoder(resp.Body).Decode(&tok)
	if tok.Value == "" {
		t.Fatalf("login failed: %d", resp.StatusCode)
	}
	return tok.Value
}

func post(addr, token, path, body string) (int, []byte, error) {
	req, _ := http.NewRequest("POST", "http://"+addr+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestServerBinary drives the real binary: configuration from BRIGADE_*
// variables, graceful shutdown on SIGTERM, and a SIGKILL in the middle of
// a stream of event creations that leaves every accepted event, with its
// queue entry, and nothing half-written.
func TestServerBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; skipped with -short")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	addr := freeAddr(t)

	// Intake only: nothing consumes the queue, so it can be counted.
	cmd := startBinary(t, bin, dataDir, addr, "BRIGADE_SUBSTRATE=none")
	token := rootToken(t, addr)
	project := `{"apiVersion":"brigade.sh/v2","kind":"Project","metadata":{"id":"crash"},
		"spec":{"eventSubscriptions":[{"source":"example.com/gw","types":["*"]}],"workerTemplate":{}}}`
	if code, b, err := post(addr, token, "/v2/projects", project); err != nil || code != 201 {
		t.Fatalf("create project: %d %s %v", code, b, err)
	}

	t.Run("SIGTERMShutsDownGracefully", func(t *testing.T) {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("server exited with %v after SIGTERM", err)
		}
	})

	t.Run("SIGKILLLosesNoAcceptedEvent", func(t *testing.T) {
		cmd := startBinary(t, bin, dataDir, addr, "BRIGADE_SUBSTRATE=none")
		var mu sync.Mutex
		accepted := map[string]bool{}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		event := `{"apiVersion":"brigade.sh/v2","kind":"Event","source":"example.com/gw","type":"push"}`
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					code, b, err := post(addr, token, "/v2/events", event)
					if err != nil || code != 201 {
						return // the server is gone
					}
					var list struct{ Items []core.Event }
					if json.Unmarshal(b, &list) == nil && len(list.Items) == 1 {
						mu.Lock()
						accepted[list.Items[0].Metadata.ID] = true
						n := len(accepted)
						mu.Unlock()
						if n == 300 {
							cmd.Process.Kill() // mid-stream, no warning
						}
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		// The posters stop when the server is gone; should they have
		// stopped before the 300th event (the server refused one), the
		// server still runs: kill it so that Wait cannot hang.
		cmd.Process.Kill()
		cmd.Wait()

		st, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "brigade.db"), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ids, err := st.Events().IDs(t.Context(), core.EventSelector{ProjectID: "crash"})
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]bool{}
		for _, id := range ids {
			stored[id] = true
		}
		for id := range accepted {
			if !stored[id] {
				t.Errorf("accepted event %s is missing after the crash", id)
			}
		}
		tasks, err := st.Queue().Len(t.Context(), core.TaskWorker)
		if err != nil {
			t.Fatal(err)
		}
		if tasks != len(ids) {
			t.Fatalf("%d events but %d worker tasks: an event was half-written", len(ids), tasks)
		}
		if len(accepted) < 300 {
			t.Fatalf("only %d events were accepted before the kill", len(accepted))
		}
		t.Logf("%d events accepted before the kill, %d stored", len(accepted), len(ids))
	})
}
