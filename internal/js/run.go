// Package js runs Brigade scripts (brigade.js / brigade.ts) in-process: the
// script is bundled with esbuild (TypeScript, ES modules, relative files, JSON
// and pure-JS packages from node_modules), then run in goja on a Node-like
// event loop, with the brigadier module served by this package instead of an
// npm package. No Node.js is needed.
//
// The behaviour is described in docs/scripting.md ("brigadier v2" for the
// @brigadecore/brigadier module, "brigadier v1" for brigadier,
// @azure/brigadier and brigade) and docs/worker.md (the worker around them).
// Each deliberate divergence is commented where it is implemented and listed
// in doc.go.
package js

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Host is everything a script reaches outside the sandbox; the worker
// implements it with the API client. Every method is called from its own
// goroutine (never the VM's), may block, and must return promptly once ctx is
// done: Run waits for the calls in flight before it returns, so no call
// outlives Run. Error texts are shown to the script as they are, inside the
// messages Brigade's workers used (e.g. `Error creating job "x": <text>`),
// so they should read like the Brigade SDK's (e.g. `Bad request: …`).
type Host interface {
	// CreateJob creates a job of the event (POST …/worker/jobs). phases
	// false says that WaitJob's caller needs the terminal phase alone, so
	// that the Host may skip following the others.
	CreateJob(ctx context.Context, job core.Job, phases bool) error
	// WaitJob blocks until the job reaches a terminal phase and returns it.
	// It calls phase for every phase it sees (terminal ones included), in
	// order. A non-terminal phase with a nil error means the status stream
	// ended early ("status stream closed").
	WaitJob(ctx context.Context, name string, phase func(core.JobPhase)) (core.JobPhase, error)
	// JobLogs returns the primary container's log as lines
	// "<RFC3339 time>: <message>" joined by "\n" (no trailing newline).
	JobLogs(ctx context.Context, name string) (string, error)
	// SetSummary sets the event's summary (PUT /v2/events/{id}/summary).
	SetSummary(ctx context.Context, text string) error
}

// Options configure one run of a script.
type Options struct {
	// Dir is the config folder holding brigade.ts or brigade.js (and maybe
	// package.json, node_modules, other modules). It is also process.cwd().
	Dir string
	// Event is the event document (event.json, docs/worker.md "The event
	// document"). The handler
	// receives a plain JSON copy of it.
	Event map[string]any
	// Host serves the script's jobs and summary.
	Host Host
	// Stdout receives console.* output and the worker log lines. nil
	// discards them. It is only written from one goroutine at a time.
	Stdout io.Writer
	// LogLevel is DEBUG, INFO, WARN or ERROR (any case). Empty means
	// event.worker.logLevel, then INFO.
	LogLevel string
	// Env is the script's process.env. Deliberately NOT the worker's own
	// environment, which may hold the worker's API token and, on the local
	// substrate, the server's settings: pass the project's
	// workerTemplate.container.environment here (what the original worker
	// container had: docs/worker.md, "What a script sees of its
	// environment"). nil means an empty process.env.
	Env map[string]string
	// Now is the clock for log timestamps; nil means time.Now.
	Now func() time.Time
}

// ErrStopped wraps the reason a run was stopped from outside (ctx ended):
// Run returns exit code 1 and an error for which errors.Is(err, ErrStopped)
// and errors.Is(err, ctx.Err()) both hold.
var ErrStopped = errors.New("script run stopped")

// Run builds and runs the script in opts.Dir and returns the exit code the
// original worker (node brigade.js) would have exited with: 0 for success, 1
// for an uncaught exception, an unhandled rejection (including a failed
// handler) or a script that does not build, n for process.exit(n). The error
// is non-nil only when the runtime itself could not do its work (bad
// options) or when ctx ended (see ErrStopped); a failing script is not an
// error.
func Run(ctx context.Context, opts Options) (exitCode int, err error) {
	s, err := newSession(opts)
	if err != nil {
		return 1, err
	}
	b, err := build(opts.Dir, s)
	if err != nil {
		var se *scriptError
		if errors.As(err, &se) {
			s.log(levelError, "", se.Error())
			return 1, nil
		}
		return 1, err
	}
	return s.execute(ctx, b)
}

// scriptError is a failure the script's author must fix (nothing to run, a
// build error). It becomes an ERROR line and exit code 1.
type scriptError struct{ msg string }

func (e *scriptError) Error() string { return e.msg }

// Log levels, as winston numbers them.
const (
	levelError = iota
	levelWarn
	levelInfo
	levelDebug
)

var levelNames = [...]string{"ERROR", "WARN", "INFO", "DEBUG"}

func parseLevel(s string) (int, bool) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return i, true
		}
	}
	return levelInfo, false
}

// session is the state of one run. Everything but the fields documented
// otherwise is owned by the loop goroutine.
type session struct {
	opts      Options
	out       io.Writer
	now       func() time.Time
	level     int
	eventJSON []byte

	vm          *goja.Runtime
	loop        *loop
	errorCtor   goja.Value
	process     *goja.Object           // the JS process object (an EventEmitter)
	modules     map[string]goja.Value  // loaded built-ins and dialects, by name
	nodeRequire *require.RequireModule // goja_nodejs's, for buffer and url
	native      *goja.Object           // the prelude's, util's and events' native object
	dialect     *dialect
	event       goja.Value // the parsed event document
	// creates hands job creations to the Host in order (creates.go).
	creates createQueue
	// scriptDone is set once the script's top-level code has run;
	// afterScript holds the callbacks waiting for that (bridge afterScript).
	scriptDone  bool
	afterScript []goja.Callable

	indented bool   // a console.group is open (prelude's native.indent)
	line     []byte // the console's fast path builds its line here

	failed    bool            // an unhandled rejection was seen: exit code 1
	unhandled []*goja.Promise // rejected without a handler during this task
}

func newSession(opts Options) (*session, error) {
	if opts.Dir == "" {
		return nil, errors.New("js: Options.Dir is empty: it must name the folder with brigade.ts or brigade.js")
	}
	if fi, err := os.Stat(opts.Dir); err != nil {
		return nil, fmt.Errorf("js: reading the config folder: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("js: config folder %s is not a directory", opts.Dir)
	}
	if opts.Host == nil {
		return nil, errors.New("js: Options.Host is nil: the worker must pass its API-backed Host")
	}
	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("js: resolving the config folder: %w", err)
	}
	opts.Dir = abs
	ev, err := json.Marshal(opts.Event)
	if err != nil {
		return nil, fmt.Errorf("js: encoding the event for the script: %w", err)
	}
	s := &session{opts: opts, out: opts.Stdout, now: opts.Now, eventJSON: ev, level: levelInfo}
	if s.out == nil {
		s.out = io.Discard
	}
	if s.now == nil {
		s.now = time.Now
	}
	lvl := opts.LogLevel
	if lvl == "" {
		if w, ok := opts.Event["worker"].(map[string]any); ok {
			lvl, _ = w["logLevel"].(string)
		}
	}
	if lvl != "" {
		l, ok := parseLevel(lvl)
		if !ok {
			return nil, fmt.Errorf("js: log level %q is not one of DEBUG, INFO, WARN, ERROR", lvl)
		}
		s.level = l
	}
	return s, nil
}

// log writes one worker log line in the v2 worker's winston format,
// "<ISO time> <LEVEL>: <msg>" or "<ISO time> [job: <name>] <LEVEL>: <msg>"
// (docs/scripting.md, "Logging"), if level passes the configured one.
func (s *session) log(level int, job, msg string) {
	if level > s.level {
		return
	}
	ts := s.now().UTC().Format("2006-01-02T15:04:05.000Z")
	var b strings.Builder
	b.Grow(len(ts) + len(job) + len(msg) + 20)
	b.WriteString(ts)
	if job != "" {
		b.WriteString(" [job: ")
		b.WriteString(job)
		b.WriteByte(']')
	}
	b.WriteByte(' ')
	b.WriteString(levelNames[level])
	b.WriteString(": ")
	b.WriteString(msg)
	b.WriteByte('\n')
	_, _ = io.WriteString(s.out, b.String())
}

// Signals passed to vm.Interrupt to unwind the JS stack.
type (
	exitSignal  struct{ code int }       // process.exit(code)
	fatalSignal struct{ err goja.Value } // an exception that must not be caught (nextTick, microtask)
	stopSignal  struct{}                 // ctx ended
)

// execute runs the bundle on a fresh VM and its event loop.
func (s *session) execute(ctx context.Context, b *bundle) (int, error) {
	s.vm = goja.New()
	s.loop = newLoop(ctx, s.vm)
	defer s.loop.shutdown()
	if err := s.install(); err != nil {
		return 1, err
	}
	stop := context.AfterFunc(ctx, func() { s.vm.Interrupt(stopSignal{}) })
	defer stop()

	s.loop.afterTask = s.reportRejections
	s.loop.beforeExit = func() error { return s.emit("beforeExit", s.vm.ToValue(s.exitCode(nil))) }
	err := s.loop.task(func() error { return s.runMain(b) })
	if err == nil {
		err = s.runAfterScript()
	}
	if err == nil {
		err = s.loop.run(ctx)
	}
	return s.finish(ctx, err)
}

// runAfterScript runs, each as its own task, the callbacks a dialect
// registered to run once the script's top-level code is done (the v1
// worker required the script first, then fired its event: docs/scripting.md,
// "v1 events and the lifecycle").
func (s *session) runAfterScript() error {
	s.scriptDone = true
	fns := s.afterScript
	s.afterScript = nil
	for _, fn := range fns {
		if err := s.loop.task(func() error { _, err := fn(goja.Undefined()); return err }); err != nil {
			return err
		}
	}
	return nil
}

// whenScriptDone queues fn to run after the script's top-level code, or on
// the next loop turn if that has already happened (a lazy require()).
func (s *session) whenScriptDone(fn goja.Callable) {
	if !s.scriptDone {
		s.afterScript = append(s.afterScript, fn)
		return
	}
	s.loop.post(func() error { _, err := fn(goja.Undefined()); return err })
}

// finish turns the way the loop ended into an exit code.
func (s *session) finish(ctx context.Context, err error) (int, error) {
	var explicit *int
	emitted := false
	for {
		if err != nil {
			code, done, ferr := s.classify(ctx, err, &explicit)
			if done {
				return code, ferr
			}
		}
		if emitted {
			return s.exitCode(explicit), nil
		}
		// Node runs 'exit' listeners once, on a normal end and on
		// process.exit; a listener may set process.exitCode or call
		// process.exit (which then ends at once).
		emitted = true
		err = s.emit("exit", s.vm.ToValue(s.exitCode(explicit)))
		if err == nil {
			return s.exitCode(explicit), nil
		}
	}
}

// classify interprets an error that ended the loop: process.exit (not done:
// exit listeners still run), an uncaught exception or a build-like script
// failure (exit 1), ctx ending (ErrStopped) or a runtime failure.
func (s *session) classify(ctx context.Context, err error, explicit **int) (code int, done bool, _ error) {
	var ie *goja.InterruptedError
	var ex *goja.Exception
	var se *scriptError
	switch {
	case errors.As(err, &ie):
		switch sig := ie.Value().(type) {
		case exitSignal:
			// goja leaves the flag set when the interrupt unwound through
			// an async function; clear it before the exit listeners run.
			s.vm.ClearInterrupt()
			*explicit = &sig.code
			return 0, false, nil
		case fatalSignal:
			s.logFailure("uncaught exception: ", sig.err)
			return 1, true, nil
		}
		return 1, true, fmt.Errorf("%w: %w", ErrStopped, context.Cause(ctx))
	case ctx.Err() != nil:
		return 1, true, fmt.Errorf("%w: %w", ErrStopped, context.Cause(ctx))
	case errors.As(err, &ex):
		s.logFailure("uncaught exception: ", ex.Value())
		return 1, true, nil
	case errors.As(err, &se):
		s.log(levelError, "", se.Error())
		return 1, true, nil
	}
	return 1, true, fmt.Errorf("js: running the script: %w", err)
}

// exitCode combines process.exit's argument (or process.exitCode) with the
// polyfill's rule (docs/worker.md, "Exit codes and the worker's phase"): a
// zero code becomes 1 when an
// unhandled rejection was seen.
func (s *session) exitCode(explicit *int) int {
	code := 0
	if explicit != nil {
		code = *explicit
	} else if v := s.process.Get("exitCode"); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
		code = int(v.ToInteger())
	}
	if code == 0 && s.failed {
		code = 1
	}
	return code
}

// runMain runs the bundle as a CommonJS module.
func (s *session) runMain(b *bundle) error {
	prg, err := b.program() // bundlecache.go
	if err != nil {
		// esbuild accepted it but goja does not: a construct goja lacks.
		return &scriptError{"error compiling " + b.entry + ": the JavaScript engine does not support a construct in it: " + err.Error()}
	}
	fnv, err := s.vm.RunProgram(prg)
	if err != nil {
		return err
	}
	fn, _ := goja.AssertFunction(fnv)
	module := s.vm.NewObject()
	exports := s.vm.NewObject()
	_ = module.Set("exports", exports)
	_ = module.Set("id", ".")
	filename := s.opts.Dir + "/brigade.js"
	_ = module.Set("filename", filename)
	_, err = fn(exports, exports, s.vm.ToValue(s.require), module, s.vm.ToValue(filename), s.vm.ToValue(s.opts.Dir))
	return err
}

// emit calls process.emit(name, args...) (listeners registered by the script
// or by a dialect).
func (s *session) emit(name string, args ...goja.Value) error {
	emit, ok := goja.AssertFunction(s.process.Get("emit"))
	if !ok {
		return nil
	}
	_, err := emit(s.process, append([]goja.Value{s.vm.ToValue(name)}, args...)...)
	return err
}

// reportRejections runs after every task, once the microtasks have drained:
// each promise still rejected without a handler is an unhandled rejection.
// As in the worker (docs/scripting.md, "Logging") it is logged at ERROR,
// the exit code becomes 1, and the run goes on. The script's own
// process.on("unhandledRejection") listeners are called too.
//
// Divergence: Node 16 crashes on an unhandled rejection that happens before
// events.process() installed the polyfill's listener. We
// treat all of them alike (log, exit 1 at the end), so a script behaves the
// same whether or not, or when, it calls process().
func (s *session) reportRejections() error {
	for len(s.unhandled) > 0 {
		batch := s.unhandled
		s.unhandled = nil
		for _, p := range batch {
			if p.State() != goja.PromiseStateRejected {
				continue
			}
			s.failed = true
			s.logFailure("", p.Result())
			if err := s.emit("unhandledRejection", p.Result(), s.vm.ToValue(p)); err != nil {
				return err
			}
		}
	}
	return nil
}

// logFailure logs an unhandled rejection's or uncaught exception's reason
// in the loaded dialect's style (winston's ERROR line by default).
func (s *session) logFailure(prefix string, reason goja.Value) {
	if s.dialect != nil && s.dialect.logStyle == styleV1 {
		_, _ = io.WriteString(s.out, "[brigade:app] "+prefix+s.describeStack(reason)+"\n")
		return
	}
	s.log(levelError, "", prefix+s.describeError(reason))
}

func (s *session) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	switch op {
	case goja.PromiseRejectionReject:
		s.unhandled = append(s.unhandled, p)
	case goja.PromiseRejectionHandle:
		for i, q := range s.unhandled {
			if q == p {
				s.unhandled = append(s.unhandled[:i], s.unhandled[i+1:]...)
				break
			}
		}
	}
}

// newError builds a JS Error with the original constructor (the script may
// have replaced the global).
func (s *session) newError(msg string) *goja.Object {
	ctor, _ := goja.AssertConstructor(s.errorCtor)
	o, err := ctor(nil, s.vm.ToValue(msg))
	if err != nil {
		return s.vm.ToValue(msg).ToObject(s.vm)
	}
	return o
}
