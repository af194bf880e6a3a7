// @brigadecore/brigadier 2.x as the worker's polyfill implements it
// (docs/scripting.md, "brigadier v2"), written against the host bridge
// (bridge.go).
//
// Divergences from the original worker, each deliberate:
//  - Exports the superset: ImagePullPolicy, EventRegistry and Logger exist
//    here (the polyfill did not export them).
//  - Job.container(...) returns a real worker Job; the original returned a
//    no-op library job whose run() only logged.
//  - The log level comes from the run's options at start, not only once
//    process() has run.
//  - logger.x(obj) with a non-string message prints it like console.log
//    (winston printed undefined/[object Object]); an Error prints its message,
//    as winston does.
//  - "Current job phase is <P>" (DEBUG) is logged for every phase the Host
//    reports, the terminal one included.
(function (module, exports, require, host) {
  "use strict";

  const ImagePullPolicy = Object.freeze({ IfNotPresent: "IfNotPresent", Always: "Always" });

  class Logger {
    // context: a job name, or {job: name}; job loggers tag their lines
    // "[job: <name>]". The tag is fixed here, so renaming a job later
    // does not change it.
    constructor(context) {
      let job = "";
      if (typeof context === "string") job = context;
      else if (context && context.job !== undefined) job = String(context.job);
      Object.defineProperty(this, "_job", { value: job });
    }
    child(context) {
      return new Logger(context);
    }
    error(message) {
      return this._log("error", message);
    }
    warn(message) {
      return this._log("warn", message);
    }
    info(message) {
      return this._log("info", message);
    }
    debug(message) {
      return this._log("debug", message);
    }
    // Extra arguments are ignored and %s is not substituted: the worker's
    // winston logger has no splat format (docs/scripting.md, "Logging").
    _log(level, message) {
      let text;
      if (typeof message === "string") text = message;
      else if (message instanceof Error) text = message.message;
      else text = host.inspect(message);
      host.log(level, this._job, text);
      return this;
    }
  }

  const logger = new Logger();

  // All own enumerable fields are sent to the API as they are
  // (docs/scripting.md, "v2 jobs and containers"), so a property added by the script reaches the schema check.
  class Container {
    constructor(image) {
      this.image = image;
      this.imagePullPolicy = ImagePullPolicy.IfNotPresent;
      this.workingDirectory = "";
      this.command = [];
      this.arguments = [];
      this.environment = {};
      this.workspaceMountPath = "";
      this.sourceMountPath = "";
      this.privileged = false;
    }
  }

  class JobHost {
    // os is left unset (undefined), as in the library.
    constructor() {
      this.nodeSelector = {};
    }
  }

  // Final phases that fail a non-fallible job (docs/scripting.md, "v2 jobs
  // and containers").
  const failures = {
    FAILED: "failed",
    TIMED_OUT: "timed out",
    ABORTED: "was aborted",
    CANCELED: "was canceled before starting",
    SCHEDULING_FAILED: "scheduling failed",
  };
  const terminal = ["SUCCEEDED"].concat(Object.keys(failures));

  class Job {
    constructor(name, image, event) {
      this.name = name;
      this.primaryContainer = new Container(image);
      this.sidecarContainers = {};
      this.timeoutSeconds = 900;
      this.host = new JobHost();
      this.fallible = false;
      this.event = event;
      Object.defineProperty(this, "logger", { value: new Logger({ job: name }), writable: true, configurable: true });
    }

    // Creates the job, then waits for its final phase.
    // "Creating job" is logged synchronously, so the lines of a
    // ConcurrentGroup appear in declaration order.
    run() {
      const name = this.name;
      const fallible = this.fallible;
      const log = this.logger;
      log.info(`Creating job ${name}`);
      let body;
      try {
        body = JSON.stringify({
          apiVersion: "brigade.sh/v2",
          kind: "Job",
          name: name,
          spec: {
            primaryContainer: this.primaryContainer,
            sidecarContainers: this.sidecarContainers,
            timeoutDuration: `${this.timeoutSeconds}s`,
            host: this.host,
            fallible: this.fallible,
          },
        });
      } catch (err) {
        return Promise.reject(new Error(`Error creating job "${name}": ${err.message}`));
      }
      // Phases other than the last are only logged at DEBUG.
      return host.createJob(body, host.logLevel() === "DEBUG").then(
        function () {
          return host.waitJob(name, function (phase) {
            log.debug(`Current job phase is ${phase}`);
          }).then(function (phase) {
            if (phase === "SUCCEEDED") return undefined;
            if (fallible) {
              // A fallible job resolves whatever its outcome; only a
              // stream that ends early is worth a warning.
              if (terminal.indexOf(phase) === -1) log.warn("status stream closed");
              return undefined;
            }
            const why = failures[phase];
            throw new Error(why ? `Job "${name}" ${why}` : "status stream closed");
          }, function (err) {
            const msg = `Error watching status for job "${name}": ${err.message}`;
            if (fallible) {
              log.warn(msg);
              return undefined;
            }
            throw new Error(msg);
          });
        },
        function (err) {
          // Creation errors reject even a fallible job.
          throw new Error(`Error creating job "${name}": ${err.message}`);
        }
      );
    }

    // The primary container's log. It does not wait for the
    // job to finish.
    logs() {
      const name = this.name;
      return host.jobLogs(name).catch(function (err) {
        throw new Error(`Error retrieving logs for job "${name}": ${err.message}`);
      });
    }

    static container(name, image, event) {
      return new Job(name, image, event);
    }
    static sequence(...runnables) {
      return new SerialGroup(...runnables);
    }
    static concurrent(...runnables) {
      return new ConcurrentGroup(...runnables);
    }
  }

  class SerialGroup {
    constructor(...runnables) {
      this.runnables = runnables;
    }
    add(...runnables) {
      this.runnables.push(...runnables);
    }
    length() {
      return this.runnables.length;
    }
    // One at a time; the first rejection stops the sequence.
    async run() {
      for (const r of this.runnables) {
        await r.run();
      }
    }
  }

  class ConcurrentGroup {
    constructor(...runnables) {
      this.runnables = runnables;
    }
    add(...runnables) {
      this.runnables.push(...runnables);
    }
    length() {
      return this.runnables.length;
    }
    // Every run() starts synchronously, in order; the first rejection
    // rejects the group while the others keep running.
    async run() {
      const promises = [];
      for (const r of this.runnables) {
        promises.push(r.run());
      }
      await Promise.all(promises);
    }
  }

  class EventRegistry {
    constructor() {
      Object.defineProperty(this, "handlers", { value: new Map(), writable: true });
    }
    // One handler per source:type; registering again replaces it.
    on(source, type, handler) {
      this.handlers.set(`${source}:${type}`, handler);
      return this;
    }
    // source:type first, then source:*; no other wildcard.
    fire(event) {
      const h = this.handlers.get(`${event.source}:${event.type}`) || this.handlers.get(`${event.source}:*`);
      if (h) return h(event);
      return undefined;
    }
    // Dispatches the run's event (docs/scripting.md, "v2 events"). A throw
    // or rejection in
    // the handler rejects the returned promise, which scripts leave
    // unhandled: ERROR line and exit code 1. A truthy result becomes the
    // summary; that call is not awaited either.
    async process() {
      const event = host.event();
      const result = await this.fire(event);
      if (result) {
        host.setSummary(result);
      }
    }
  }

  module.exports = {
    events: new EventRegistry(),
    Job: Job,
    Container: Container,
    JobHost: JobHost,
    SerialGroup: SerialGroup,
    ConcurrentGroup: ConcurrentGroup,
    logger: logger,
    ImagePullPolicy: ImagePullPolicy,
    EventRegistry: EventRegistry,
    Logger: Logger,
  };
});
