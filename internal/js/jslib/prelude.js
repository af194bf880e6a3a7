// The globals a Node script expects besides the timers (Go): process,
// console and queueMicrotask. Everything writes to the worker log through
// native.write.
(function (module, exports, require, native) {
  "use strict";
  const EventEmitter = require("events");
  // util (format, inspect) is loaded on first use: most scripts log plain
  // strings, which native code writes without it.
  let utilModule;
  function util() {
    if (utilModule === undefined) utilModule = require("util");
    return utilModule;
  }

  // A fatal error in a microtask: Node treats a throw in queueMicrotask or
  // process.nextTick callbacks as an uncaught exception (exit 1 at once),
  // not as a rejected promise.
  function microtask(fn, args) {
    Promise.resolve().then(function () {
      try {
        fn.apply(undefined, args);
      } catch (err) {
        native.fatal(err);
      }
    });
  }

  const process = new EventEmitter();
  Object.defineProperty(process, Symbol.toStringTag, { value: "process" });
  process.title = "node";
  // The original worker ran Node 16 (docs/scripting.md, "How scripts are
  // found and built"); scripts that test the
  // version see one it could have had.
  process.version = "v16.20.2";
  process.versions = { node: "16.20.2" };
  process.platform = "linux";
  process.arch = "x64";
  process.pid = 1;
  process.ppid = 0;
  process.argv = ["/usr/bin/node", native.filename];
  process.argv0 = "node";
  process.execArgv = [];
  process.execPath = "/usr/bin/node";
  process.env = native.env;
  process.exitCode = undefined;
  process.release = { name: "node" };
  process.cwd = function () {
    return native.cwd;
  };
  process.exit = function (code) {
    if (code === undefined) code = process.exitCode;
    native.exit(code === undefined || code === null ? 0 : Number(code) | 0);
  };
  process.abort = function () {
    native.exit(134);
  };
  process.nextTick = function (fn) {
    if (typeof fn !== "function") {
      throw new TypeError('The "callback" argument must be of type function. Received ' + String(fn));
    }
    microtask(fn, Array.prototype.slice.call(arguments, 1));
  };
  process.hrtime = function (prev) {
    const ns = native.hrtime();
    let sec = Math.floor(ns / 1e9);
    let nsec = ns % 1e9;
    if (prev) {
      sec -= prev[0];
      nsec -= prev[1];
      if (nsec < 0) {
        sec--;
        nsec += 1e9;
      }
    }
    return [sec, nsec];
  };
  process.uptime = function () {
    return native.hrtime() / 1e9;
  };
  process.memoryUsage = function () {
    return { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  };
  process.emitWarning = function (warning) {
    native.write("(node) Warning: " + (warning instanceof Error ? warning.message : String(warning)) + "\n");
  };
  const stream = { write: function (chunk) { native.write(String(chunk)); return true; }, isTTY: false };
  process.stdout = stream;
  process.stderr = stream;

  // console.log & co. all go to the worker log (Node writes warn and error
  // to stderr, which ended up in the same pod log).
  const counts = new Map();
  const timers = new Map();
  let indent = "";
  function print() {
    let text = util().format.apply(undefined, arguments);
    if (indent) text = indent + text.split("\n").join("\n" + indent);
    native.write(text + "\n");
  }
  // A plain string (the common case) is written by native code; print
  // formats everything else.
  const log = native.console(print);
  const console = {
    log: log,
    info: log,
    debug: log,
    warn: log,
    error: log,
    trace: function () {
      const err = new Error(util().format.apply(undefined, arguments));
      err.name = "Trace";
      print(err.stack);
    },
    dir: function (obj, options) {
      print(util().inspect(obj, Object.assign({ customInspect: false }, options)));
    },
    table: print,
    assert: function (ok) {
      if (!ok) {
        const rest = Array.prototype.slice.call(arguments, 1);
        rest[0] = "Assertion failed" + (rest.length ? ": " + rest[0] : "");
        print.apply(undefined, rest);
      }
    },
    count: function (label) {
      label = label === undefined ? "default" : String(label);
      const n = (counts.get(label) || 0) + 1;
      counts.set(label, n);
      print(label + ": " + n);
    },
    countReset: function (label) {
      counts.delete(label === undefined ? "default" : String(label));
    },
    time: function (label) {
      timers.set(label === undefined ? "default" : String(label), native.hrtime());
    },
    timeLog: function (label) {
      label = label === undefined ? "default" : String(label);
      const t = timers.get(label);
      if (t !== undefined) print(label + ": " + ((native.hrtime() - t) / 1e6).toFixed(3) + "ms");
    },
    timeEnd: function (label) {
      console.timeLog(label);
      timers.delete(label === undefined ? "default" : String(label));
    },
    group: function () {
      if (arguments.length) print.apply(undefined, arguments);
      indent += "  ";
      native.indent(indent);
    },
    groupEnd: function () {
      indent = indent.slice(2);
      native.indent(indent);
    },
  };
  console.groupCollapsed = console.group;

  const g = globalThis;
  g.process = process;
  g.console = console;
  g.queueMicrotask = function (fn) {
    if (typeof fn !== "function") {
      throw new TypeError('The "callback" argument must be of type function. Received ' + String(fn));
    }
    microtask(fn, []);
  };
  module.exports = { process: process };
});
