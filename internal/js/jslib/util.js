// Node's util module: format and inspect as console.log uses them, plus
// the helpers scripts commonly reach for (promisify, inherits, types, …).
//
// inspect follows Node's layout rules closely (quotes, class-name prefixes,
// `[Object]` past depth 2, `[Circular *1]`, one line when the entries fit in
// 80 columns and nest less than 3 levels, else one entry per line). Not
// reproduced: Node's column grouping of long arrays of short items, and
// colours.
(function (module, exports, require, native) {
  "use strict";
  const custom = Symbol.for("nodejs.util.inspect.custom");
  const promisifyCustom = Symbol.for("nodejs.util.promisify.custom");
  const defaults = { depth: 2, showHidden: false, breakLength: 80, compact: 3, maxArrayLength: 100, maxStringLength: 10000, customInspect: true, sorted: false };
  const ident = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  const hasOwn = Object.prototype.hasOwnProperty;
  const toStr = Object.prototype.toString;

  function inspect(value, opts) {
    const ctx = Object.assign({}, defaults, inspect.defaultOptions);
    if (typeof opts === "boolean") {
      ctx.showHidden = opts;
      if (arguments.length > 2 && arguments[2] !== undefined) ctx.depth = arguments[2];
    } else if (opts && typeof opts === "object") {
      Object.assign(ctx, opts);
    }
    if (ctx.depth === null) ctx.depth = Infinity;
    ctx.seen = [];
    ctx.circular = new Map();
    ctx.indent = "";
    return formatValue(ctx, value, 0, true).text;
  }
  inspect.custom = custom;
  inspect.defaultOptions = {};

  function quote(s) {
    let q = "'";
    if (s.indexOf("'") !== -1) {
      if (s.indexOf('"') === -1) q = '"';
      else if (s.indexOf("`") === -1 && s.indexOf("${") === -1) q = "`";
    }
    let out = "";
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      const code = s.charCodeAt(i);
      if (c === q || c === "\\") out += "\\" + c;
      else if (c === "\n") out += "\\n";
      else if (c === "\t") out += "\\t";
      else if (c === "\r") out += "\\r";
      else if (c === "\b") out += "\\b";
      else if (c === "\f") out += "\\f";
      else if (c === "\v") out += "\\v";
      else if (code < 0x20 || code === 0x7f) out += "\\x" + (code < 16 ? "0" : "") + code.toString(16).toUpperCase();
      else out += c;
    }
    return q + out + q;
  }

  function formatPrimitive(ctx, v) {
    switch (typeof v) {
      case "string": {
        let s = v;
        let extra = "";
        if (s.length > ctx.maxStringLength) {
          extra = "... " + (s.length - ctx.maxStringLength) + " more character" + (s.length - ctx.maxStringLength > 1 ? "s" : "");
          s = s.slice(0, ctx.maxStringLength);
        }
        return quote(s) + extra;
      }
      case "number":
        return Object.is(v, -0) ? "-0" : String(v);
      case "bigint":
        return String(v) + "n";
      case "symbol":
        return v.toString();
      case "undefined":
        return "undefined";
    }
    if (v === null) return "null";
    return String(v);
  }

  function formatKey(k) {
    if (typeof k === "symbol") return "[" + k.toString() + "]";
    return ident.test(k) ? k : quote(k);
  }

  function constructorName(obj) {
    let p = obj;
    while (p !== null && p !== undefined) {
      const d = Object.getOwnPropertyDescriptor(p, "constructor");
      if (d && typeof d.value === "function" && d.value.name !== "") return d.value.name;
      p = Object.getPrototypeOf(p);
    }
    return null;
  }

  function prefix(ctor, tag, fallback, size) {
    if (ctor === null) return "[" + fallback + (size !== undefined ? "(" + size + ")" : "") + ": null prototype] ";
    let s = ctor + (size !== undefined ? "(" + size + ")" : "");
    if (tag && tag !== ctor) s += " [" + tag + "]";
    return s + " ";
  }

  function formatFunction(fn, ctor) {
    const src = Function.prototype.toString.call(fn);
    if (/^class\b/.test(src)) {
      let s = "[class " + (fn.name || "(anonymous)");
      const sup = Object.getPrototypeOf(fn);
      if (sup && sup.name) s += " extends " + sup.name;
      return s + "]";
    }
    let kind = "Function";
    if (ctor === "AsyncFunction") kind = "AsyncFunction";
    else if (ctor === "GeneratorFunction") kind = "GeneratorFunction";
    else if (ctor === "AsyncGeneratorFunction") kind = "AsyncGeneratorFunction";
    return "[" + kind + (fn.name ? ": " + fn.name : " (anonymous)") + "]";
  }

  function formatError(err) {
    let stack = typeof err.stack === "string" ? err.stack : Error.prototype.toString.call(err);
    const first = stack.split("\n")[0];
    if (first.indexOf(String(err.message)) === -1 && err.message) stack = Error.prototype.toString.call(err) + "\n" + stack;
    return stack.replace(/\t/g, "    ").replace(/:(\d+):(\d+)\(\d+\)/g, ":$1:$2");
  }

  // Returns {text, height}: height is how many levels of objects that were
  // actually expanded sit below this one (0 for a flat object, -1 for a
  // primitive or a placeholder such as [Object]). Node prints an object on
  // one line only if that is below `compact` (3) and the entries fit.
  function formatValue(ctx, v, depth, top) {
    if (typeof v !== "object" && typeof v !== "function") return { text: formatPrimitive(ctx, v), height: -1 };
    if (v === null) return { text: "null", height: -1 };
    if (ctx.customInspect && typeof v[custom] === "function" && v[custom] !== inspect) {
      const opts = Object.assign({}, ctx, { depth: ctx.depth - depth });
      const res = v[custom](ctx.depth - depth, opts, inspect);
      if (res !== v) {
        if (typeof res === "string") return { text: res, height: -1 };
        return formatValue(ctx, res, depth);
      }
    }
    if (ctx.seen.indexOf(v) !== -1) {
      let n = ctx.circular.get(v);
      if (n === undefined) {
        n = ctx.circular.size + 1;
        ctx.circular.set(v, n);
      }
      return { text: "[Circular *" + n + "]", height: -1 };
    }
    const r = formatRaw(ctx, v, depth);
    const n = ctx.circular.get(v);
    if (n !== undefined) r.text = "<ref *" + n + "> " + r.text;
    return r;
  }

  function formatRaw(ctx, v, depth) {
    const ctor = constructorName(v);
    const tag = v[Symbol.toStringTag];
    const cls = toStr.call(v).slice(8, -1);
    let keys = Object.keys(v);
    if (ctx.showHidden) keys = Object.getOwnPropertyNames(v);
    const symbols = Object.getOwnPropertySymbols(v).filter(function (s) {
      return ctx.showHidden || Object.getOwnPropertyDescriptor(v, s).enumerable;
    });
    let braces = ["{", "}"];
    let base = "";
    let entries = null; // pre-formatted entries (arrays, maps, sets)
    let isArrayLike = false;

    if (Array.isArray(v)) {
      isArrayLike = true;
      braces = [(ctor === "Array" ? "" : prefix(ctor, tag, "Array", v.length)) + "[", "]"];
      keys = keys.filter(function (k) { return !(String(k >>> 0) === k && (k >>> 0) < v.length); });
    } else if (typeof v === "function") {
      base = formatFunction(v, ctor);
      keys = keys.filter(function (k) { return k !== "prototype"; });
      if (keys.length === 0 && symbols.length === 0) return { text: base, height: 0 };
    } else if (cls === "Error" || v instanceof Error) {
      base = formatError(v);
      keys = keys.filter(function (k) { return k !== "stack" && k !== "message"; });
      if (depth > 0) base = base.split("\n").join("\n" + ctx.indent + "  ");
      if (keys.length === 0 && symbols.length === 0) return { text: base, height: 0 };
    } else if (v instanceof Date) {
      base = isNaN(v.getTime()) ? "Invalid Date" : v.toISOString();
      if (keys.length === 0) return { text: base, height: 0 };
    } else if (v instanceof RegExp) {
      base = RegExp.prototype.toString.call(v);
      if (keys.length === 0) return { text: base, height: 0 };
    } else if (v instanceof Map) {
      braces = [prefix(ctor, tag, "Map", v.size) + "{", "}"];
    } else if (v instanceof Set) {
      braces = [prefix(ctor, tag, "Set", v.size) + "{", "}"];
    } else if (v instanceof Promise) {
      braces = [prefix(ctor, tag, "Promise") + "{", "}"];
    } else if (v instanceof WeakMap || v instanceof WeakSet) {
      return { text: prefix(ctor, tag, cls) + "{ <items unknown> }", height: 0 };
    } else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      isArrayLike = true;
      if (typeof Buffer === "function" && v instanceof Buffer) {
        let hex = "";
        const max = Math.min(v.length, 50);
        for (let i = 0; i < max; i++) hex += " " + (v[i] < 16 ? "0" : "") + v[i].toString(16);
        return { text: "<Buffer" + hex + (v.length > 50 ? " ... " + (v.length - 50) + " more bytes" : "") + ">", height: 0 };
      }
      braces = [prefix(ctor, tag, cls, v.length) + "[", "]"];
      keys = keys.filter(function (k) { return !(String(k >>> 0) === k); });
    } else if (v instanceof Number || v instanceof String || v instanceof Boolean) {
      const prim = v.valueOf();
      base = "[" + cls + ": " + formatPrimitive(ctx, prim) + "]";
      if (v instanceof String) keys = keys.filter(function (k) { return !(String(k >>> 0) === k); });
      if (keys.length === 0) return { text: base, height: 0 };
    } else if (cls === "Arguments") {
      isArrayLike = true;
      braces = ["[Arguments] [", "]"];
      keys = [];
    } else if (ctor !== "Object") {
      braces = [prefix(ctor, tag, "Object") + "{", "}"];
    } else if (tag) {
      braces = ["Object [" + tag + "] {", "}"];
    }

    if (depth > ctx.depth) {
      const name = (ctor || "Object");
      return { text: isArrayLike && ctor === "Array" ? "[Array]" : "[" + name + "]", height: -1 };
    }

    ctx.seen.push(v);
    const saved = ctx.indent;
    ctx.indent += "  ";
    let height = 0;
    const out = [];
    const sub = function (x) {
      const r = formatValue(ctx, x, depth + 1);
      if (r.height + 1 > height) height = r.height + 1;
      return r.text;
    };
    try {
      if (isArrayLike) {
        const max = Math.min(v.length, ctx.maxArrayLength);
        let holes = 0;
        for (let i = 0; i < max; i++) {
          if (!hasOwn.call(v, i)) {
            holes++;
            continue;
          }
          if (holes) {
            out.push("<" + holes + " empty item" + (holes > 1 ? "s" : "") + ">");
            holes = 0;
          }
          out.push(sub(v[i]));
        }
        if (holes) out.push("<" + holes + " empty item" + (holes > 1 ? "s" : "") + ">");
        if (v.length > max) out.push("... " + (v.length - max) + " more item" + (v.length - max > 1 ? "s" : ""));
      } else if (v instanceof Map) {
        v.forEach(function (val, k) { out.push(sub(k) + " => " + sub(val)); });
      } else if (v instanceof Set) {
        v.forEach(function (val) { out.push(sub(val)); });
      } else if (v instanceof Promise) {
        const st = native.promiseState(v);
        if (st[0] === "pending") out.push("<pending>");
        else if (st[0] === "rejected") out.push("<rejected> " + sub(st[1]));
        else out.push(sub(st[1]));
      }
      const all = keys.concat(symbols);
      if (ctx.sorted) all.sort();
      for (const k of all) {
        const d = Object.getOwnPropertyDescriptor(v, k);
        let text;
        if (d.get || d.set) text = d.get ? (d.set ? "[Getter/Setter]" : "[Getter]") : "[Setter]";
        else text = sub(d.value);
        const key = d.enumerable ? formatKey(k) : "[" + String(k) + "]";
        out.push(key + ": " + text);
      }
    } finally {
      ctx.seen.pop();
      ctx.indent = saved;
    }
    if (base) braces = [base + " {", "}"];
    return { text: reduce(ctx, out, braces, height), height: height };
  }

  function reduce(ctx, out, braces, height) {
    if (out.length === 0) {
      const open = braces[0];
      return (open.slice(-1) === "{" || open.slice(-1) === "[") ? open + braces[1] : open + " " + braces[1];
    }
    if (height < ctx.compact) {
      let len = out.length + ctx.indent.length + braces[0].length + 10;
      let multi = false;
      for (const e of out) {
        len += e.length;
        if (e.indexOf("\n") !== -1) multi = true;
      }
      if (!multi && len <= ctx.breakLength) return braces[0] + " " + out.join(", ") + " " + braces[1];
    }
    const ind = "\n" + ctx.indent;
    return braces[0] + ind + "  " + out.join("," + ind + "  ") + ind + braces[1];
  }

  function format() {
    return formatWithOptions.apply(undefined, [undefined].concat(Array.prototype.slice.call(arguments)));
  }

  function formatWithOptions(opts) {
    const args = Array.prototype.slice.call(arguments, 1);
    const show = function (x) {
      return typeof x === "string" ? x : inspect(x, opts);
    };
    if (args.length === 0) return "";
    const f = args[0];
    if (typeof f !== "string") return args.map(show).join(" ");
    let i = 1;
    let out = "";
    let last = 0;
    for (let p = 0; p < f.length - 1; p++) {
      if (f[p] !== "%") continue;
      const c = f[p + 1];
      if (c === "%") {
        out += f.slice(last, p) + "%";
        last = p + 2;
        p++;
        continue;
      }
      if ("sdifjoOc".indexOf(c) === -1 || i >= args.length) continue;
      const a = args[i++];
      let s;
      switch (c) {
        case "s":
          if (typeof a === "bigint") s = a + "n";
          else if (typeof a === "number" && Object.is(a, -0)) s = "-0";
          else if (typeof a === "object" && a !== null) s = inspect(a, Object.assign({}, opts, { depth: 0 }));
          else s = String(a);
          break;
        case "d":
          s = typeof a === "bigint" ? a + "n" : typeof a === "object" && a !== null ? "NaN" : formatPrimitive(defaults, Number(a));
          break;
        case "i":
          s = typeof a === "bigint" ? a + "n" : String(parseInt(a, 10));
          break;
        case "f":
          s = String(parseFloat(a));
          break;
        case "j":
          try {
            s = JSON.stringify(a);
          } catch (e) {
            s = "[Circular]";
          }
          break;
        case "o":
          s = inspect(a, Object.assign({}, opts, { showHidden: true, depth: 4 }));
          break;
        case "O":
          s = inspect(a, opts);
          break;
        case "c":
          s = "";
          break;
      }
      out += f.slice(last, p) + s;
      last = p + 2;
      p++;
    }
    out += f.slice(last);
    for (; i < args.length; i++) out += " " + show(args[i]);
    return out;
  }

  function promisify(fn) {
    if (typeof fn !== "function") throw new TypeError('The "original" argument must be of type function');
    if (fn[promisifyCustom]) return fn[promisifyCustom];
    return function () {
      const self = this;
      const args = Array.prototype.slice.call(arguments);
      return new Promise(function (resolve, reject) {
        args.push(function (err, value) {
          if (err) reject(err);
          else resolve(value);
        });
        fn.apply(self, args);
      });
    };
  }
  promisify.custom = promisifyCustom;

  function callbackify(fn) {
    return function () {
      const args = Array.prototype.slice.call(arguments);
      const cb = args.pop();
      fn.apply(this, args).then(function (v) { cb(null, v); }, function (e) { cb(e); });
    };
  }

  function inherits(ctor, superCtor) {
    Object.defineProperty(ctor, "super_", { value: superCtor, writable: true, configurable: true });
    Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
  }

  const warned = new Set();
  function deprecate(fn, msg, code) {
    return function () {
      const key = code || msg;
      if (!warned.has(key)) {
        warned.add(key);
        native.write("(node) DeprecationWarning: " + msg + "\n");
      }
      return fn.apply(this, arguments);
    };
  }

  function isDeepStrictEqual(a, b) {
    if (Object.is(a, b)) return true;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (const k of ka) {
      if (!hasOwn.call(b, k) || !isDeepStrictEqual(a[k], b[k])) return false;
    }
    return true;
  }

  const types = {
    isPromise: function (v) { return v instanceof Promise; },
    isDate: function (v) { return v instanceof Date; },
    isRegExp: function (v) { return v instanceof RegExp; },
    isMap: function (v) { return v instanceof Map; },
    isSet: function (v) { return v instanceof Set; },
    isNativeError: function (v) { return v instanceof Error; },
    isAsyncFunction: function (v) { return typeof v === "function" && constructorName(v) === "AsyncFunction"; },
  };

  module.exports = {
    format: format,
    formatWithOptions: formatWithOptions,
    inspect: inspect,
    promisify: promisify,
    callbackify: callbackify,
    inherits: inherits,
    deprecate: deprecate,
    isDeepStrictEqual: isDeepStrictEqual,
    types: types,
    isArray: Array.isArray,
    isError: types.isNativeError,
    isDate: types.isDate,
    isRegExp: types.isRegExp,
    isFunction: function (v) { return typeof v === "function"; },
    isString: function (v) { return typeof v === "string"; },
    isNumber: function (v) { return typeof v === "number"; },
    isObject: function (v) { return v !== null && typeof v === "object"; },
    isPrimitive: function (v) { return v === null || (typeof v !== "object" && typeof v !== "function"); },
    isUndefined: function (v) { return v === undefined; },
    isNullOrUndefined: function (v) { return v === null || v === undefined; },
  };
});
