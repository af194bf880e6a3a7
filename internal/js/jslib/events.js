// Node's events module: EventEmitter with the commonly used API. Listeners
// run synchronously in registration order; emitting 'error' with no
// listener throws the error, as in Node.
(function (module, exports, require, native) {
  "use strict";

  function EventEmitter() {
    EventEmitter.init.call(this);
  }

  EventEmitter.defaultMaxListeners = 10;

  EventEmitter.init = function () {
    if (!this._events || this._events === Object.getPrototypeOf(this)._events) {
      Object.defineProperty(this, "_events", { value: Object.create(null), writable: true, configurable: true });
    }
    if (this._maxListeners === undefined) {
      Object.defineProperty(this, "_maxListeners", { value: undefined, writable: true, configurable: true });
    }
  };

  function checkListener(listener) {
    if (typeof listener !== "function") {
      throw new TypeError('The "listener" argument must be of type function. Received ' + String(listener));
    }
  }

  function events(self) {
    if (!self._events) EventEmitter.init.call(self);
    return self._events;
  }

  function add(self, name, listener, prepend) {
    checkListener(listener);
    const evs = events(self);
    if (evs.newListener !== undefined) {
      self.emit("newListener", name, listener.listener ? listener.listener : listener);
    }
    const list = evs[name] || (evs[name] = []);
    if (prepend) list.unshift(listener);
    else list.push(listener);
    return self;
  }

  function onceWrapper(self, name, listener) {
    const state = { fired: false };
    function wrapped() {
      if (state.fired) return undefined;
      state.fired = true;
      self.removeListener(name, wrapped);
      return listener.apply(self, arguments);
    }
    wrapped.listener = listener;
    return wrapped;
  }

  const proto = EventEmitter.prototype;

  proto.on = proto.addListener = function (name, listener) {
    return add(this, name, listener, false);
  };
  proto.prependListener = function (name, listener) {
    return add(this, name, listener, true);
  };
  proto.once = function (name, listener) {
    checkListener(listener);
    return add(this, name, onceWrapper(this, name, listener), false);
  };
  proto.prependOnceListener = function (name, listener) {
    checkListener(listener);
    return add(this, name, onceWrapper(this, name, listener), true);
  };
  proto.off = proto.removeListener = function (name, listener) {
    checkListener(listener);
    const evs = events(this);
    const list = evs[name];
    if (!list) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i] === listener || list[i].listener === listener) {
        list.splice(i, 1);
        if (list.length === 0) delete evs[name];
        if (evs.removeListener !== undefined) this.emit("removeListener", name, listener);
        break;
      }
    }
    return this;
  };
  proto.removeAllListeners = function (name) {
    const evs = events(this);
    if (name === undefined) {
      for (const k of Object.keys(evs)) delete evs[k];
    } else {
      delete evs[name];
    }
    return this;
  };
  proto.emit = function (name) {
    const list = events(this)[name];
    const args = Array.prototype.slice.call(arguments, 1);
    if (!list || list.length === 0) {
      if (name === "error") {
        const err = args[0];
        if (err instanceof Error) throw err;
        const e = new Error("Unhandled error. (" + String(err) + ")");
        e.context = err;
        throw e;
      }
      return false;
    }
    for (const l of list.slice()) l.apply(this, args);
    return true;
  };
  proto.listeners = function (name) {
    const list = events(this)[name];
    return list ? list.map(function (l) { return l.listener || l; }) : [];
  };
  proto.rawListeners = function (name) {
    const list = events(this)[name];
    return list ? list.slice() : [];
  };
  proto.listenerCount = function (name) {
    const list = events(this)[name];
    return list ? list.length : 0;
  };
  proto.eventNames = function () {
    return Reflect.ownKeys(events(this));
  };
  proto.setMaxListeners = function (n) {
    this._maxListeners = n;
    return this;
  };
  proto.getMaxListeners = function () {
    return this._maxListeners === undefined ? EventEmitter.defaultMaxListeners : this._maxListeners;
  };

  EventEmitter.listenerCount = function (emitter, name) {
    return emitter.listenerCount(name);
  };
  EventEmitter.once = function (emitter, name) {
    return new Promise(function (resolve, reject) {
      function onError(err) {
        emitter.removeListener(name, onEvent);
        reject(err);
      }
      function onEvent() {
        if (name !== "error") emitter.removeListener("error", onError);
        resolve(Array.prototype.slice.call(arguments));
      }
      emitter.once(name, onEvent);
      if (name !== "error") emitter.once("error", onError);
    });
  };

  EventEmitter.EventEmitter = EventEmitter;
  module.exports = EventEmitter;
});
