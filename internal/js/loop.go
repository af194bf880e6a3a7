package js

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// loop is a Node-like event loop around one goja.Runtime. Exactly one
// goroutine (the one in run) touches the VM; other goroutines hand work to it
// with post. One iteration runs, in this order:
//
//  1. timers whose due time has passed (setTimeout/setInterval), earliest
//     first, ties in the order they were scheduled;
//  2. callbacks posted by other goroutines (settled host calls: Node's "poll"
//     phase);
//  3. the immediates queued before the phase started (setImmediate).
//
// goja runs the microtask queue (promise reactions) whenever control returns
// from JS to Go, i.e. after every callback; afterTask then runs (the session
// uses it to report unhandled rejections, as Node does after each macrotask).
//
// The loop stays alive while a ref'd timer, an immediate, a posted callback or
// an in-flight async operation exists, like Node's. When nothing is left it
// calls beforeExit (which may schedule more work, as Node's 'beforeExit'
// event can) and ends when that schedules nothing.
type loop struct {
	vm *goja.Runtime

	mu     sync.Mutex
	posted []func() error
	wake   chan struct{}

	// Only the loop goroutine touches the fields below.
	inflight   int // async operations started and not yet settled
	timers     timerHeap
	refTimers  int
	immediates []*timer
	byHandle   map[*goja.Object]*timer
	byID       map[int64]*timer
	seq        int64

	// opCtx is handed to async operations; cancelled when the run ends so
	// that nothing keeps working for a script that is gone.
	opCtx    context.Context
	cancelOp context.CancelFunc
	ops      sync.WaitGroup

	afterTask  func() error // after every callback (microtasks already drained)
	beforeExit func() error // when the loop is about to go idle for good
}

// timer is a setTimeout/setInterval/setImmediate registration.
type timer struct {
	id        int64
	when      time.Time
	seq       int64
	delay     time.Duration
	interval  bool
	immediate bool
	ref       bool
	cleared   bool
	index     int // in the heap; -1 when not scheduled
	fn        goja.Callable
	args      []goja.Value
	handle    *goja.Object
}

func newLoop(ctx context.Context, vm *goja.Runtime) *loop {
	l := &loop{
		vm:       vm,
		wake:     make(chan struct{}, 1),
		byHandle: map[*goja.Object]*timer{},
		byID:     map[int64]*timer{},
	}
	l.opCtx, l.cancelOp = context.WithCancel(ctx)
	return l
}

// post queues fn to run on the loop goroutine. Safe from any goroutine; it
// never blocks. fn's error ends the run as if thrown by a callback.
func (l *loop) post(fn func() error) {
	l.mu.Lock()
	l.posted = append(l.posted, fn)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// async runs op on its own goroutine and then its returned settle function on
// the loop. The loop stays alive until settle has run. Must be called on the
// loop goroutine.
func (l *loop) async(op func(ctx context.Context) (settle func() error)) {
	l.inflight++
	l.ops.Add(1)
	go func() {
		defer l.ops.Done()
		settle := op(l.opCtx)
		l.post(func() error {
			l.inflight--
			return settle()
		})
	}()
}

// shutdown cancels the async operations still running and waits for them to
// return, so that no Host call outlives Run.
func (l *loop) shutdown() {
	l.cancelOp()
	l.ops.Wait()
}

func (l *loop) alive() bool {
	l.mu.Lock()
	n := len(l.posted)
	l.mu.Unlock()
	return n > 0 || l.inflight > 0 || l.refTimers > 0 || len(l.immediates) > 0
}

// run drives the loop until it is idle, a callback fails (an uncaught
// exception or an interrupt, returned as is), or ctx ends (ctx's error).
func (l *loop) run(ctx context.Context) error {
	var wait *time.Timer
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := l.runTimers(); err != nil {
			return err
		}
		if err := l.runPosted(); err != nil {
			return err
		}
		if err := l.runImmediates(); err != nil {
			return err
		}
		if !l.alive() {
			if l.beforeExit != nil {
				if err := l.task(l.beforeExit); err != nil {
					return err
				}
			}
			if !l.alive() {
				return nil
			}
			continue
		}
		if len(l.immediates) > 0 {
			continue
		}
		l.mu.Lock()
		havePosted := len(l.posted) > 0
		l.mu.Unlock()
		if havePosted {
			continue
		}
		var due <-chan time.Time
		if len(l.timers) > 0 {
			d := time.Until(l.timers[0].when)
			if d <= 0 {
				continue
			}
			if wait == nil {
				wait = time.NewTimer(d)
			} else {
				wait.Reset(d)
			}
			due = wait.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.wake:
		case <-due:
		}
		if wait != nil {
			wait.Stop()
		}
	}
}

func (l *loop) task(fn func() error) error {
	if err := fn(); err != nil {
		return err
	}
	if l.afterTask != nil {
		return l.afterTask()
	}
	return nil
}

func (l *loop) runTimers() error {
	now := time.Now()
	for len(l.timers) > 0 && !l.timers[0].when.After(now) {
		t := heap.Pop(&l.timers).(*timer)
		if t.interval {
			t.seq = l.nextSeq()
			t.when = now.Add(t.delay)
			heap.Push(&l.timers, t)
		} else {
			l.forget(t)
		}
		if err := l.task(func() error { return l.call(t) }); err != nil {
			return err
		}
	}
	return nil
}

func (l *loop) runPosted() error {
	l.mu.Lock()
	batch := l.posted
	l.posted = nil
	l.mu.Unlock()
	for i, fn := range batch {
		if err := l.task(fn); err != nil {
			// Keep what was not run so that the bookkeeping (inflight)
			// stays right for whoever inspects the loop afterwards.
			l.mu.Lock()
			l.posted = append(batch[i+1:], l.posted...)
			l.mu.Unlock()
			return err
		}
	}
	return nil
}

func (l *loop) runImmediates() error {
	batch := l.immediates
	l.immediates = nil
	for i, t := range batch {
		if t.cleared {
			continue
		}
		l.forget(t)
		if err := l.task(func() error { return l.call(t) }); err != nil {
			l.immediates = append(batch[i+1:], l.immediates...)
			return err
		}
	}
	return nil
}

func (l *loop) call(t *timer) error {
	_, err := t.fn(goja.Undefined(), t.args...)
	return err
}

func (l *loop) nextSeq() int64 { l.seq++; return l.seq }

// schedule registers a timer and returns its JS handle (a Timeout or
// Immediate object, as in Node).
func (l *loop) schedule(fn goja.Callable, delay time.Duration, args []goja.Value, kind string) *goja.Object {
	t := &timer{
		id: l.nextSeq(), seq: l.seq, fn: fn, args: args, ref: true, index: -1,
		interval: kind == "interval", immediate: kind == "immediate",
	}
	t.handle = l.newHandle(t)
	l.byHandle[t.handle] = t
	l.byID[t.id] = t
	if t.immediate {
		l.immediates = append(l.immediates, t)
		return t.handle
	}
	// Node clamps delays below 1 ms (and NaN, and above 2^31-1 ms) to 1 ms.
	if delay < time.Millisecond || delay > (1<<31-1)*time.Millisecond {
		delay = time.Millisecond
	}
	t.delay = delay
	t.when = time.Now().Add(delay)
	heap.Push(&l.timers, t)
	l.refTimers++
	return t.handle
}

// clear cancels a timer given its handle or its numeric id. Anything else is
// ignored, as in Node.
func (l *loop) clear(v goja.Value) {
	var t *timer
	if o, ok := v.(*goja.Object); ok {
		t = l.byHandle[o]
	} else if v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
		t = l.byID[v.ToInteger()]
	}
	if t == nil || t.cleared {
		return
	}
	t.cleared = true
	if t.index >= 0 {
		heap.Remove(&l.timers, t.index)
	}
	l.forget(t)
	if t.immediate {
		for i, x := range l.immediates {
			if x == t {
				l.immediates = append(l.immediates[:i], l.immediates[i+1:]...)
				break
			}
		}
	}
}

// forget drops the lookup entries of a timer that will not fire again.
func (l *loop) forget(t *timer) {
	delete(l.byHandle, t.handle)
	delete(l.byID, t.id)
	if !t.immediate && t.ref {
		l.refTimers--
	}
	t.ref = false
}

func (l *loop) setRef(t *timer, ref bool) {
	if t.immediate || t.ref == ref {
		return
	}
	t.ref = ref
	if l.byID[t.id] == nil {
		return // already fired or cleared: nothing is counted any more
	}
	if ref {
		l.refTimers++
	} else {
		l.refTimers--
	}
}

// newHandle builds the object setTimeout & co. return: ref(), unref(),
// hasRef(), refresh(), and a numeric primitive value (the id), so that
// clearTimeout(+handle) and string keys work as in Node.
func (l *loop) newHandle(t *timer) *goja.Object {
	vm := l.vm
	o := vm.NewObject()
	self := func(call goja.FunctionCall) goja.Value { return call.This }
	_ = o.Set("ref", func(call goja.FunctionCall) goja.Value { l.setRef(t, true); return self(call) })
	_ = o.Set("unref", func(call goja.FunctionCall) goja.Value { l.setRef(t, false); return self(call) })
	_ = o.Set("hasRef", func() bool { return t.ref })
	_ = o.Set("refresh", func(call goja.FunctionCall) goja.Value {
		if t.index >= 0 {
			t.when = time.Now().Add(t.delay)
			t.seq = l.nextSeq()
			heap.Fix(&l.timers, t.index)
		}
		return self(call)
	})
	_ = o.SetSymbol(goja.SymToPrimitive, func() int64 { return t.id })
	return o
}

// timerHeap orders timers by due time, then by scheduling order.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}

// installTimers defines the timer globals on the VM.
func (l *loop) installTimers() {
	vm := l.vm
	set := func(kind string) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			fn, ok := goja.AssertFunction(call.Argument(0))
			if !ok {
				panic(vm.NewTypeError("The \"callback\" argument must be of type function. Received %s", describe(call.Argument(0))))
			}
			var delay time.Duration
			var args []goja.Value
			if kind == "immediate" {
				if len(call.Arguments) > 1 {
					args = append(args, call.Arguments[1:]...)
				}
			} else {
				ms := call.Argument(1).ToFloat()
				if ms == ms { // not NaN
					delay = time.Duration(ms * float64(time.Millisecond))
				}
				if len(call.Arguments) > 2 {
					args = append(args, call.Arguments[2:]...)
				}
			}
			return l.schedule(fn, delay, args, kind)
		}
	}
	clear := func(call goja.FunctionCall) goja.Value {
		l.clear(call.Argument(0))
		return goja.Undefined()
	}
	g := vm.GlobalObject()
	_ = g.Set("setTimeout", set("timeout"))
	_ = g.Set("setInterval", set("interval"))
	_ = g.Set("setImmediate", set("immediate"))
	_ = g.Set("clearTimeout", clear)
	_ = g.Set("clearInterval", clear)
	_ = g.Set("clearImmediate", clear)
}

// describe renders a value for an error message.
func describe(v goja.Value) string {
	if v == nil {
		return "undefined"
	}
	return v.String()
}
