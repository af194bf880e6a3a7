package local

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"

	"github.com/brigadeplatform/brigade/internal/standby"
)

// standbyProc is a worker process started ahead of its event (see package
// standby): it waits for a launch on ctl and writes to logs once it has one.
type standbyProc struct {
	cmd  *exec.Cmd
	ctl  *os.File // write end of its launch pipe
	logs *os.File // read end of its stdout and stderr
}

// discard ends a standby that will never get a launch.
func (sb *standbyProc) discard() {
	sb.ctl.Close() // an idle standby exits on an empty pipe
	_ = syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL)
	_ = sb.cmd.Wait()
	sb.logs.Close()
}

// pool keeps Options.StandbyWorkers standbys of the worker command ready.
type pool struct {
	s    *Substrate
	argv []string
	path string
	want int

	mu       sync.Mutex
	idle     []*standbyProc
	starting int
	closed   bool
	wg       sync.WaitGroup // fill goroutines
}

func newPool(s *Substrate, argv []string, want int) (*pool, error) {
	path, err := lookPath(argv[0], envValue(s.baseEnv, "PATH"), s.eventsDir)
	if err != nil {
		return nil, fmt.Errorf("local substrate: cannot run the standby worker command %q: %w", argv[0], err)
	}
	p := &pool{s: s, argv: slices.Clone(argv), path: path, want: want}
	p.fill()
	return p, nil
}

// fill starts standbys in the background until want of them are idle or
// starting.
func (p *pool) fill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ; !p.closed && len(p.idle)+p.starting < p.want; p.starting++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			sb, err := p.spawn()
			p.mu.Lock()
			p.starting--
			switch {
			case err != nil:
				// Workers start the slow way until the next take tries again.
				p.s.log.Warn("local substrate: cannot start a standby worker", "command", p.path, "err", err)
			case p.closed:
				defer sb.discard()
			default:
				p.idle = append(p.idle, sb)
			}
			p.mu.Unlock()
		}()
	}
}

// spawn starts one standby in the events folder with the substrate's base
// environment plus standby.Env.
func (p *pool) spawn() (*standbyProc, error) {
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	logR, logW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	env := append(slices.Clip(p.s.baseEnv), standby.Env+"=1")
	cmd := &exec.Cmd{Path: p.path, Args: p.argv, Dir: p.s.eventsDir, Env: env, Stdout: logW, Stderr: logW,
		ExtraFiles: []*os.File{ctlR}, SysProcAttr: sysProcAttr(false)}
	err = cmd.Start()
	ctlR.Close()
	logW.Close()
	if err != nil {
		ctlW.Close()
		logR.Close()
		return nil, err
	}
	return &standbyProc{cmd: cmd, ctl: ctlW, logs: logR}, nil
}

// take hands out the oldest idle standby of argv, or nil, and starts a
// replacement.
func (p *pool) take(argv []string) *standbyProc {
	if p == nil || !slices.Equal(argv, p.argv) {
		return nil
	}
	p.mu.Lock()
	var sb *standbyProc
	if len(p.idle) > 0 && !p.closed {
		sb = p.idle[0]
		p.idle = p.idle[1:]
	}
	p.mu.Unlock()
	p.fill()
	return sb
}

// close ends every idle standby and waits for those still starting.
func (p *pool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, sb := range idle {
		sb.discard()
	}
	p.wg.Wait()
}

// handOver makes a standby the process of sp: it sends the launch and
// starts reading the output. An error means the standby was unusable (it
// died meanwhile) and has been discarded: start the process anew.
func (s *Substrate) handOver(p *proc, sb *standbyProc, sp procSpec) error {
	msg, err := (&standby.Launch{Dir: sp.dir, Env: sp.env}).Encode()
	if err == nil {
		_, err = sb.ctl.Write(msg)
	}
	if cerr := sb.ctl.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL)
		_ = sb.cmd.Wait()
		sb.logs.Close()
		return err
	}
	p.mu.Lock()
	p.cmd, p.pid = sb.cmd, sb.cmd.Process.Pid
	p.mu.Unlock()
	p.logs.read(sb.logs)
	return nil
}
