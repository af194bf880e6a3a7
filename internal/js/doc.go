package js

// How a run works
//
//   - build.go finds the entry (brigade.ts, else brigade.js) and bundles it
//     with esbuild into one CommonJS file with an inline source map.
//   - run.go creates a goja VM and a session, installs the globals
//     (modules.go, jslib/prelude.js), runs the bundle, then drives the event
//     loop (loop.go) until nothing is pending, and turns the outcome into an
//     exit code.
//   - require() serves what esbuild left external: the brigadier dialects
//     (dialect.go, jslib/brigadier_v2.js over the host bridge in bridge.go)
//     and a few Node built-ins (util, events, path, buffer, url, process,
//     timers, console).
//
// Decisions on the reference's [Q] quirks and open questions (reference 4.3)
//
//   - Job.container(...) returns a real worker Job (the original returned a
//     no-op library job).
//   - The superset is exported: ImagePullPolicy, EventRegistry and Logger
//     exist at run time. TypeScript imports of type-only names (Event,
//     Runnable, …) compile, since esbuild drops imports used only as types.
//   - TypeScript is transpiled, not type-checked: a brigade.ts with type
//     errors runs here, where tsc 4.4 failed the original worker.
//   - A handler's non-string truthy result (e.g. Promise.all's array) fails
//     the run with exit code 1, as the original's summary call did (its 400
//     became an unhandled rejection); the message says why.
//   - host.nodeSelector is passed on to the API as the script set it; what a
//     substrate does with it is not this package's business.
//   - Unknown container properties and non-string env values are refused at
//     run() with "Bad request: …" before reaching the Host (the API's schema
//     would refuse them the same way; Host.CreateJob takes a core.Job, which
//     cannot carry them).
//   - npm/yarn dependencies are not installed here: pure-JS packages already
//     present in <Dir>/node_modules are bundled; a missing one is a build
//     error that says where packages are looked up. package.json
//     scripts.build/scripts.run cannot run (no Node.js) and are ignored with a
//     WARN line; brigade.json and package.json "main" mean nothing to a v2
//     worker and are ignored.
//   - console.log/util.inspect follow Node's formatting (see jslib/util.js for
//     the two simplifications).
//
// Other deliberate divergences from the Node-based worker
//
//   - Unhandled rejections never crash the run, even before
//     events.process() was called (Node 16 crashed there): all are logged at
//     ERROR, make the exit code 1, and the run goes on.
//   - An unhandled rejection whose reason carries frames from the script's
//     own files is logged with those frames ("at … (brigade.ts:12:5)"),
//     mapped through the source map; other reasons print their message only,
//     as winston did.
//   - CreateJob calls reach the Host one at a time in the order run() was
//     called, so the API sees jobs in script order (the original only
//     likely did).
//   - process.env is Options.Env (the project's worker environment), never
//     the worker process's own environment. process.version claims Node
//     v16.20.2 (the original runtime's major version).
//   - process.nextTick callbacks are ordinary microtasks: they run in FIFO
//     order with promise reactions instead of before them.
//   - Node built-ins other than util, events, path, buffer, url, process,
//     timers and console (fs, child_process, http, …) are not available; a
//     require() of one throws "Cannot find module '<name>': …" naming it.
//   - The log level comes from Options.LogLevel or event.worker.logLevel from
//     the start, not only once events.process() has run.
//   - "Current job phase is <P>" (DEBUG) is logged for every phase the Host
//     reports, terminal ones included.
