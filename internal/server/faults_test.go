package server_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

// Faults through a real server on the local substrate: what a user sees
// through the API when a worker cannot start or loses its API connection.

// cutProxy forwards TCP connections to a target until it is cut: then it
// drops the connections it carries and closes every new one at once (a
// server restarting, a network that drops), until it is healed.
type cutProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	cut    bool
	conns  map[net.Conn]bool
	turned int           // connections closed unanswered while cut
	sent   []byte        // what the target answered, all connections (the last 64 KiB)
	change chan struct{} // closed and replaced when turned or sent changes
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, conns: map[net.Conn]bool{}, change: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true) // drops what it carries
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut || p.target == "" {
			p.turned++
			close(p.change)
			p.change = make(chan struct{})
			p.mu.Unlock()
			c.Close()
			continue
		}
		target := p.target
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(1)
		go p.forward(c, target)
	}
}

func (p *cutProxy) forward(c net.Conn, target string) {
	defer p.wg.Done()
	up, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[up] = true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := up.Read(buf)
			if n > 0 {
				p.mu.Lock()
				p.sent = append(p.sent, buf[:n]...)
				if len(p.sent) > 64<<10 {
					p.sent = p.sent[len(p.sent)-64<<10:]
				}
				close(p.change)
				p.change = make(chan struct{})
				p.mu.Unlock()
				if _, werr := c.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
			if err != nil {
				break
			}
		}
		c.Close()
		up.Close()
		done <- struct{}{}
	}()
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// setCut cuts (dropping every connection it carries) or heals the proxy.
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

// waitSent waits until the target has answered text through the proxy
// (so the client has been sent it).
func (p *cutProxy) waitSent(t *testing.T, text string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		p.mu.Lock()
		got, ch := strings.Contains(string(p.sent), text), p.change
		p.mu.Unlock()
		if got {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("the server did not answer %q through the proxy", text)
		}
	}
}

// waitTurned waits until n connections were turned away while cut.
func (p *cutProxy) waitTurned(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		p.mu.Lock()
		got, ch := p.turned, p.change
		p.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("only %d connections came while the proxy was cut, want %d", got, n)
		}
	}
}

func TestWorkerLosesItsAPIConnection(t *testing.T) {
	proxy := newCutProxy(t)
	rs := startRunning(t, t.TempDir(), server.Config{APIAddress: "http://" + proxy.addr()})
	proxy.mu.Lock()
	proxy.target = rs.srv.Addr()
	proxy.mu.Unlock()

	dir := t.TempDir()
	gate, marks := filepath.Join(dir, "gate"), filepath.Join(dir, "marks")
	rs.project(t, "cut-off", fmt.Sprintf(`const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const gated = new Job("gated", "x", event);
  gated.primaryContainer.command = ["sh"];
  gated.primaryContainer.arguments = ["-c", "echo gated >> %[2]s; while [ ! -e %[1]s ]; do sleep 0.05; done; echo through"];
  await gated.run();
  console.log("the gated job is over");
  const after = new Job("after", "x", event);
  after.primaryContainer.command = ["sh"];
  after.primaryContainer.arguments = ["-c", "echo after >> %[2]s"];
  await after.run();
});
events.process();`, gate, marks), nil)
	id := rs.event(t, "cut-off")
	rs.waitJobPhase(t, id, "gated", core.PhaseRunning)
	// The job may run before the worker has the answer to its creation
	// (which waits for the disk): wait until that answer, which carries
	// the worker's watch of the job, was sent.
	proxy.waitSent(t, "201 Created")

	// The worker's watch of its job is cut, and every new connection is
	// refused; the job ends while the worker cannot hear of it.
	proxy.setCut(true)
	proxy.waitTurned(t, 3)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rs.waitJobPhase(t, id, "gated", core.PhaseSucceeded)
	if st, err := rs.c.GetWorkerStatus(t.Context(), id); err != nil || st.Phase != core.PhaseRunning {
		t.Fatalf("the worker cut off from the API is %v (%v), want RUNNING: it retries", st, err)
	}
	proxy.setCut(false)

	ev := rs.waitWorker(t, id)
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		t.Fatalf("the worker ended %s, want SUCCEEDED once the connection came back\n%s", ev.Worker.Status.Phase, rs.logs(t, id, ""))
	}
	b, err := os.ReadFile(marks)
	if err != nil || string(b) != "gated\nafter\n" {
		t.Fatalf("jobs ran %q (%v), want each once: gated, then after", b, err)
	}
	log := rs.logs(t, id, "")
	for _, want := range []string{"following job gated failed", "trying again", "following job gated: the API server answers again", "the gated job is over"} {
		if !strings.Contains(log, want) {
			t.Errorf("the worker log does not say %q:\n%s", want, log)
		}
	}
}

func TestWorkerThatCannotStart(t *testing.T) {
	rs := startRunning(t, t.TempDir(), server.Config{WorkerCommand: []string{"/nonexistent/brigade-worker", "worker"}})
	rs.project(t, "no-worker", `console.log("never")`, nil)
	id := rs.event(t, "no-worker")
	ev := rs.waitWorker(t, id)
	if ev.Worker.Status.Phase != core.PhaseSchedulingFailed {
		t.Fatalf("the worker is %s, want SCHEDULING_FAILED", ev.Worker.Status.Phase)
	}
	log := rs.logs(t, id, "")
	for _, want := range []string{"(attempt 1 of 3), trying again in", "(attempt 2 of 3)", "could not start this worker after 3 attempts",
		"/nonexistent/brigade-worker"} {
		if !strings.Contains(log, want) {
			t.Errorf("the worker log does not say %q:\n%s", want, log)
		}
	}
}
