package local

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/brigadeplatform/brigade/internal/standby"
)

// maxStandbyRuns is how many events one standby process runs before it is
// let go, so that nothing a long-lived process accumulates (heap, caches)
// grows without bound.
const maxStandbyRuns = 100

// standbyProc is a worker process started ahead of its events (package
// standby): it waits for a launch on ctl and writes each run's output, and
// its end line, to out.
type standbyProc struct {
	cmd  *exec.Cmd
	ctl  *os.File // write end of its launch pipe
	out  *standby.Output
	pipe *os.File // read end of its stdout and stderr
	runs int      // launches handed to it

	dead  chan struct{} // closed once the process is reaped
	state *os.ProcessState
	err   error
}

func (sb *standbyProc) isDead() bool {
	select {
	case <-sb.dead:
		return true
	default:
	}
	return false
}

// standbyExitGrace is how long a standby let go may take to exit by
// itself (finishing what it writes as it ends, a profile for one) before
// it is killed.
const standbyExitGrace = 2 * time.Second

// discard ends a standby that will not run another event: a waiting
// standby exits on a closed pipe; one that does not is killed.
func (sb *standbyProc) discard() {
	sb.ctl.Close()
	t := time.NewTimer(standbyExitGrace)
	select {
	case <-sb.dead: // reaped: its pid may be another's now, so no kill
	case <-t.C:
		_ = syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL) // its children too
		<-sb.dead
	}
	t.Stop()
	sb.pipe.Close()
}

// Idle standbys beyond the ones asked for (those that ran a burst of
// events) are let go after standbyLinger unused.
const standbyLinger = 30 * time.Second

// pool starts Options.StandbyWorkers standbys of the worker command ahead
// of need, and keeps those that ran an event for the next: up to maxIdle
// of them, the ones beyond want only for standbyLinger.
type pool struct {
	s       *Substrate
	argv    []string
	path    string
	want    int
	maxIdle int

	mu       sync.Mutex
	idle     []*standbyProc // oldest first
	idleAt   map[*standbyProc]time.Time
	retiring *time.Timer
	closed   bool
	wg       sync.WaitGroup // goroutines that start or end standbys
}

func newPool(s *Substrate, argv []string, want, maxIdle int) (*pool, error) {
	path, err := lookPath(argv[0], envValue(s.baseEnv, "PATH"), s.eventsDir)
	if err != nil {
		return nil, fmt.Errorf("local substrate: cannot run the standby worker command %q: %w", argv[0], err)
	}
	p := &pool{s: s, argv: slices.Clone(argv), path: path, want: want, maxIdle: max(want, maxIdle),
		idleAt: map[*standbyProc]time.Time{}}
	for range want {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			sb, err := p.spawn(true)
			if err != nil {
				// Workers start without a warm-up until one ends its run.
				p.s.log.Warn("local substrate: cannot start a standby worker", "command", p.path, "err", err)
				return
			}
			p.giveBack(sb, true)
		}()
	}
	return p, nil
}

// spawn starts one standby in the events folder with the substrate's base
// environment plus standby.Env. A standby started for a launch that waits
// already skips the warm-up (its run warms the runtime up as well).
func (p *pool) spawn(warm bool) (*standbyProc, error) {
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	mode := standby.Warm
	if !warm {
		mode = standby.Cold
	}
	env := append(slices.Clip(p.s.baseEnv), standby.Env+"="+mode)
	cmd := &exec.Cmd{Path: p.path, Args: p.argv, Dir: p.s.eventsDir, Env: env, Stdout: outW, Stderr: outW,
		ExtraFiles: []*os.File{ctlR}, SysProcAttr: sysProcAttr(false)}
	if f, err := devNull(); err == nil {
		cmd.Stdin = f
	}
	err = cmd.Start()
	ctlR.Close()
	outW.Close()
	if err != nil {
		ctlW.Close()
		outR.Close()
		return nil, err
	}
	sb := &standbyProc{cmd: cmd, ctl: ctlW, out: standby.NewOutput(outR), pipe: outR, dead: make(chan struct{})}
	go func() {
		sb.err = cmd.Wait()
		sb.state = cmd.ProcessState
		close(sb.dead)
	}()
	return sb, nil
}

// get returns a standby to run argv: an idle one, the one that waited
// longest, or a new one started for it; nil when argv is not the pool's
// command or no process could start (the caller starts it the plain way).
func (p *pool) get(argv []string) *standbyProc {
	if p == nil || !slices.Equal(argv, p.argv) {
		return nil
	}
	p.mu.Lock()
	for len(p.idle) > 0 && !p.closed {
		sb := p.idle[0]
		p.idle = p.idle[1:]
		delete(p.idleAt, sb)
		if !sb.isDead() {
			p.mu.Unlock()
			return sb
		}
		p.discardLocked(sb)
	}
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil
	}
	sb, err := p.spawn(false)
	if err != nil {
		p.s.log.Warn("local substrate: cannot start a standby worker; starting the worker without one", "command", p.path, "err", err)
		return nil
	}
	return sb
}

// giveBack returns a standby after its run: to the idle ones when it ended
// its run cleanly (reusable) and there is room, else it is let go.
func (p *pool) giveBack(sb *standbyProc, reusable bool) {
	p.mu.Lock()
	if reusable && !p.closed && !sb.isDead() && sb.runs < maxStandbyRuns && len(p.idle) < p.maxIdle {
		p.idle = append(p.idle, sb)
		p.idleAt[sb] = time.Now()
		if len(p.idle) > p.want && p.retiring == nil {
			p.retiring = time.AfterFunc(standbyLinger, p.retire)
		}
		p.mu.Unlock()
		return
	}
	if p.closed {
		// close is waiting for the pool's goroutines: end this one here.
		p.mu.Unlock()
		sb.discard()
		return
	}
	p.discardLocked(sb)
	p.mu.Unlock()
}

// retire lets go of the idle standbys beyond want that waited longer than
// standbyLinger, oldest first.
func (p *pool) retire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retiring = nil
	if p.closed {
		return
	}
	for len(p.idle) > p.want && time.Since(p.idleAt[p.idle[0]]) >= standbyLinger {
		sb := p.idle[0]
		p.idle = p.idle[1:]
		delete(p.idleAt, sb)
		p.discardLocked(sb)
	}
	if len(p.idle) > p.want {
		wait := standbyLinger - time.Since(p.idleAt[p.idle[0]])
		p.retiring = time.AfterFunc(max(wait, time.Millisecond), p.retire)
	}
}

// discardLocked lets a standby go in the background; only while the pool
// is open (close waits for these goroutines).
func (p *pool) discardLocked(sb *standbyProc) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		sb.discard()
	}()
}

// close ends every idle standby and waits for those starting or ending.
func (p *pool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	if p.retiring != nil {
		p.retiring.Stop()
	}
	p.mu.Unlock()
	for _, sb := range idle {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			sb.discard()
		}()
	}
	p.wg.Wait()
}

// handOver makes a standby the process of sp: it sends the launch and
// starts reading the run's output. An error means the standby was unusable
// (it died meanwhile) and has been let go: start the process anew.
func (s *Substrate) handOver(p *proc, sb *standbyProc, sp procSpec) error {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	// The end line starts with a control character and a random word, so
	// that no output of the run is taken for it.
	end := "\x1ebrigade-standby-end-" + hex.EncodeToString(nonce[:])
	msg, err := (&standby.Launch{Dir: sp.dir, Env: sp.env, End: end}).Encode()
	if err == nil {
		_, err = sb.ctl.Write(msg)
	}
	if err != nil {
		s.standbys.giveBack(sb, false)
		return err
	}
	sb.runs++
	p.mu.Lock()
	p.cmd, p.pid, p.sb = sb.cmd, sb.cmd.Process.Pid, sb
	p.mu.Unlock()
	p.run = sb.out.Run(end)
	p.logs.readRun(sb.pipe, p.run)
	return nil
}

// reapStandby is reap for a process that runs on a standby: the run is over
// when its end line arrives (the process lives on) or the process dies.
func (p *proc) reapStandby() {
	sb := p.sb
	select {
	case <-sb.dead:
	case <-p.logs.readDone:
	}
	// Either way the output is read to its end (a dead process closed its
	// pipe) before the outcome is known.
	<-p.logs.readDone
	p.mu.Lock()
	p.reaped = true
	if code, ok := p.run.Code(); ok {
		p.code = &code
	} else {
		<-sb.dead
		p.state, p.err = sb.state, sb.err
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	}
	p.mu.Unlock()
	close(p.exited)
}

// outcome is the process's exit code and its reason.
func (p *proc) outcome() (int, string) {
	if p.code != nil {
		return *p.code, fmt.Sprintf("exit code %d", *p.code)
	}
	return describeExit(p.state, p.err)
}

// returnStandby gives the process back to the pool once its workload is
// over; it can run another event if its run ended with its end line.
func (p *proc) returnStandby(s *Substrate, stopped bool) {
	if p.sb != nil {
		s.standbys.giveBack(p.sb, p.code != nil && !stopped)
	}
}

// readRun reads one run of a standby: up to the run's end line, leaving
// the pipe open for the next run.
func (lp *logPump) readRun(pipe *os.File, run io.Reader) {
	lp.r = pipe
	lp.readDone = make(chan struct{})
	go func() {
		defer close(lp.readDone)
		readLines(run, lp.EmitAll)
	}()
}
