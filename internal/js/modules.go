package js

import (
	"embed"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	_ "github.com/dop251/goja_nodejs/buffer" // registers "buffer"
	"github.com/dop251/goja_nodejs/require"
	_ "github.com/dop251/goja_nodejs/url" // registers "url"
)

// The runtime's own JavaScript: the prelude (process, console,
// queueMicrotask), the util and events modules, and the brigadier dialects.
// Each file is one expression, `(function (module, exports, require, native)
// {…})`, where native is the Go object the file is written against.
//
//go:embed jslib/*.js
var jslib embed.FS

var (
	programsMu sync.Mutex
	programs   = map[string]*goja.Program{} // compiled once, shared by every run
)

// program compiles an embedded file once per process.
func program(file string) (*goja.Program, error) {
	programsMu.Lock()
	defer programsMu.Unlock()
	if p, ok := programs[file]; ok {
		return p, nil
	}
	src, err := jslib.ReadFile("jslib/" + file)
	if err != nil {
		return nil, fmt.Errorf("js: embedded module %s: %w", file, err)
	}
	name := "node:internal/" + file
	if strings.HasPrefix(file, "brigadier") {
		name = "@brigadecore/brigadier/" + file
	}
	p, err := goja.Compile(name, string(src), true)
	if err != nil {
		return nil, fmt.Errorf("js: compiling embedded module %s: %w", file, err)
	}
	programs[file] = p
	return p, nil
}

// loadEmbedded runs an embedded module and returns its module.exports.
func (s *session) loadEmbedded(file string, native goja.Value) (goja.Value, error) {
	p, err := program(file)
	if err != nil {
		return nil, err
	}
	fnv, err := s.vm.RunProgram(p)
	if err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(fnv)
	if !ok {
		return nil, fmt.Errorf("js: embedded module %s is not a function expression", file)
	}
	module := s.vm.NewObject()
	exports := s.vm.NewObject()
	_ = module.Set("exports", exports)
	if _, err := fn(goja.Undefined(), module, exports, s.vm.ToValue(s.require), native); err != nil {
		return nil, err
	}
	return module.Get("exports"), nil
}

// install prepares the global environment of a fresh VM.
func (s *session) install() error {
	vm := s.vm
	s.modules = map[string]goja.Value{}
	s.errorCtor = vm.Get("Error")
	vm.SetPromiseRejectionTracker(s.trackRejection)
	s.loop.installTimers()
	_ = vm.Set("global", vm.GlobalObject())

	// Buffer and URL come from goja_nodejs, which needs its require
	// registry enabled; its global require is removed again (the script's
	// require is ours) and it may load no files. The modules register
	// themselves with it when this package is linked.
	reg := require.NewRegistry(require.WithLoader(func(string) ([]byte, error) {
		return nil, require.ModuleFileDoesNotExistError
	}))
	s.nodeRequire = reg.Enable(vm)
	_ = vm.GlobalObject().Delete("require")
	s.installLazyGlobals() // Buffer, URL and URLSearchParams: lazyglobals.go

	if _, err := s.eventValue(); err != nil {
		return fmt.Errorf("js: parsing the event for the script: %w", err)
	}
	exports, err := s.loadEmbedded("prelude.js", s.nativeObject())
	if err != nil {
		return fmt.Errorf("js: setting up the script environment: %w", err)
	}
	s.process = exports.ToObject(vm).Get("process").ToObject(vm)
	s.modules["process"] = s.process
	return nil
}

// nativeObject is what the prelude, util and events are written against.
// They only read it, so they share one.
func (s *session) nativeObject() *goja.Object {
	if s.native != nil {
		return s.native
	}
	vm := s.vm
	o := vm.NewObject()
	s.native = o
	start := time.Now()
	_ = o.Set("write", func(call goja.FunctionCall) goja.Value {
		_, _ = io.WriteString(s.out, call.Argument(0).String())
		return goja.Undefined()
	})
	_ = o.Set("console", s.consoleFunc)
	_ = o.Set("indent", func(call goja.FunctionCall) goja.Value {
		s.indented = call.Argument(0).String() != ""
		return goja.Undefined()
	})
	_ = o.Set("exit", func(code int) { vm.Interrupt(exitSignal{code}) })
	_ = o.Set("fatal", func(err goja.Value) { vm.Interrupt(fatalSignal{err}) })
	_ = o.Set("cwd", s.opts.Dir)
	_ = o.Set("filename", s.opts.Dir+"/brigade.js")
	env := vm.NewObject()
	keys := make([]string, 0, len(s.opts.Env))
	for k := range s.opts.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = env.Set(k, s.opts.Env[k])
	}
	_ = o.Set("env", env)
	_ = o.Set("hrtime", func() int64 { return int64(time.Since(start)) })
	_ = o.Set("promiseState", func(v goja.Value) goja.Value {
		p, ok := v.Export().(*goja.Promise)
		if !ok {
			return goja.Undefined()
		}
		states := map[goja.PromiseState]string{
			goja.PromiseStatePending: "pending", goja.PromiseStateFulfilled: "fulfilled", goja.PromiseStateRejected: "rejected",
		}
		res := p.Result()
		if res == nil {
			res = goja.Undefined()
		}
		return vm.NewArray(states[p.State()], res)
	})
	return o
}

// consoleFunc is native.console(print): it returns console.log and its
// siblings. The common call, one string without a "%" while no group is
// open, is written from here: it prints as util.format would, without the
// JavaScript arguments object, array copies and string concatenation
// print costs, which are most of a call's time. Every other call goes to
// print, the prelude's formatting in JavaScript.
func (s *session) consoleFunc(call goja.FunctionCall) goja.Value {
	print, ok := goja.AssertFunction(call.Argument(0))
	if !ok {
		panic(s.vm.NewTypeError("console needs the print function"))
	}
	return s.vm.ToValue(func(c goja.FunctionCall) goja.Value {
		if len(c.Arguments) == 1 && !s.indented {
			if str, ok := c.Arguments[0].(goja.String); ok {
				if text := str.String(); strings.IndexByte(text, '%') < 0 {
					s.line = append(append(s.line[:0], text...), '\n')
					_, _ = s.out.Write(s.line)
					if cap(s.line) > 64<<10 {
						s.line = nil
					}
					return goja.Undefined()
				}
			}
		}
		if _, err := print(goja.Undefined(), c.Arguments...); err != nil {
			panic(err) // a JavaScript exception is thrown on; an interrupt goes on unwinding
		}
		return goja.Undefined()
	})
}

// require is the require() the script (and the embedded modules) get. The
// script's own files and packages were bundled by esbuild, so what reaches
// this are the names esbuild left external: Node built-ins and the
// brigadier modules, plus dynamic require(variable) calls.
func (s *session) require(call goja.FunctionCall) goja.Value {
	name := call.Argument(0).String()
	v, err := s.requireModule(name)
	if err != nil {
		e := s.newError(fmt.Sprintf("Cannot find module '%s': %v", name, err))
		_ = e.Set("code", "MODULE_NOT_FOUND")
		panic(e)
	}
	return v
}

// builtinModules are the Node built-ins a sandboxed script gets.
var builtinModules = []string{"buffer", "console", "events", "path", "process", "timers", "url", "util"}

func (s *session) requireModule(name string) (goja.Value, error) {
	if d := dialectFor(name); d != nil {
		return s.requireDialect(d, name)
	}
	name = strings.TrimPrefix(name, "node:")
	if v, ok := s.modules[name]; ok {
		return v, nil
	}
	var v goja.Value
	var err error
	switch name {
	case "util", "events":
		v, err = s.loadEmbedded(name+".js", s.nativeObject())
	case "path":
		v = s.pathModule()
	case "buffer", "url":
		v, err = s.nodeRequire.Require(name)
	case "console":
		v = s.vm.Get("console")
	case "timers":
		o := s.vm.NewObject()
		for _, f := range []string{"setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "clearImmediate"} {
			_ = o.Set(f, s.vm.Get(f))
		}
		v = o
	default:
		if nodeBuiltins()[name] {
			return nil, fmt.Errorf("the Node.js module %q is not available to Brigade scripts in this worker (available: %s and @brigadecore/brigadier)",
				name, strings.Join(builtinModules, ", "))
		}
		if strings.HasPrefix(name, ".") || filepath.IsAbs(name) {
			return nil, fmt.Errorf("local files are bundled when the script is built, which needs a require() with a literal path")
		}
		return nil, fmt.Errorf("packages are bundled from node_modules when the script is built, which needs a require() with a literal name and the package installed in the config folder")
	}
	if err != nil {
		return nil, err
	}
	s.modules[name] = v
	return v, nil
}

// nodeBuiltins are Node 16's built-in module names (esbuild leaves them
// external on the node platform). The set is built on first use, not at init
// (every event starts this binary anew).
var nodeBuiltins = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`assert async_hooks buffer child_process cluster console constants crypto
		dgram diagnostics_channel dns domain events fs fs/promises http http2 https inspector module net os
		path path/posix path/win32 perf_hooks process punycode querystring readline repl stream
		stream/promises stream/web string_decoder sys timers timers/promises tls trace_events tty url util
		util/types v8 vm wasi worker_threads zlib`) {
		m[n] = true
	}
	return m
})
