// brigadier 1.x as the Brigade v1 worker served it to scripts that require
// "brigadier", "@azure/brigadier" or "brigade" (docs/scripting.md,
// "brigadier v1"), written
// against the host bridge (bridge.go). Jobs become ordinary core.Jobs
// (docs/api.md): tasks run as [shell, "-e", "-c", script].
//
// Where the event and project come from (v1 read them from environment
// variables and a Kubernetes Secret; we build them from the event document:
// docs/scripting.md, "The event a script receives") and every deliberate divergence are listed
// in doc.go; the comments below say why at the place they happen.
(function (module, exports, require, host) {
  "use strict";
  const EventEmitter = require("events");
  const process = require("process");
  // Captured before the script can replace the globals.
  const defer = setImmediate;
  const writeError = function (text) {
    host.write(text + "\n");
  };

  // ---- logging (docs/scripting.md, "Logging") --------------------------

  // v1's level numbers, which scripts read as event.logLevel. The run's
  // level (DEBUG/INFO/WARN/ERROR) maps to them.
  const LogLevel = Object.freeze({ ALL: 0, LOG: 1, INFO: 2, WARN: 3, ERROR: 4, NONE: 5 });
  const level = { DEBUG: LogLevel.ALL, INFO: LogLevel.LOG, WARN: LogLevel.WARN, ERROR: LogLevel.ERROR }[host.logLevel()];

  // The worker's own lines. v1 wrote "[brigade:k8s] …" lines about pods;
  // there are no pods here, so the lines say what the API reports, in the
  // worker's leveled format ("<time> [job: <name>] INFO: …"): the run's
  // level drops them here, and `brig exec -l` can hide them by level.
  function say(lvl, job, msg) {
    host.log(lvl, job || "", typeof msg === "string" ? msg : host.inspect(msg));
  }

  // ---- the event and the project ---------------------------------------

  const doc = host.event();
  const docWorker = doc.worker || {};
  const git = docWorker.git || null;
  const docProject = doc.project || {};
  const secrets = docProject.secrets || {};
  const policies = docWorker.jobPolicies || null;

  const mainEvent = {
    buildID: doc.id,
    // v1's worker pod was brigade-worker-<buildID>.
    workerID: `brigade-worker-${doc.id}`,
    type: doc.type || "ping",
    provider: doc.source || "unknown",
    cloneURL: git && git.cloneURL ? git.cloneURL : undefined,
    revision: { commit: git && git.commit ? git.commit : undefined, ref: git && git.ref ? git.ref : undefined },
    logLevel: level,
    payload: doc.payload,
  };

  class Project {
    constructor() {
      this.id = docProject.id;
      // Divergence: v1's name was the repository name ("org/repo"); ours is
      // the project id, the only name a project has here.
      this.name = docProject.id;
      const repo = {
        name: docProject.id,
        cloneURL: git && git.cloneURL ? git.cloneURL : null,
        initGitSubmodules: !!(git && git.initSubmodules),
      };
      // The v2 git secrets play the part of v1's github.token and sshKey.
      if (secrets.gitPassword !== undefined) repo.token = secrets.gitPassword;
      if (secrets.gitSSHKey !== undefined) repo.sshKey = secrets.gitSSHKey;
      this.repo = repo;
      this.kubernetes = {
        namespace: (docProject.kubernetes && docProject.kubernetes.namespace) || "",
        vcsSidecar: "",
        vcsSidecarResourcesLimitsCPU: "",
        vcsSidecarResourcesLimitsMemory: "",
        vcsSidecarResourcesRequestsCPU: "",
        vcsSidecarResourcesRequestsMemory: "",
        buildStorageSize: "50Mi",
        cacheStorageClass: "",
        buildStorageClass: "",
      };
      this.secrets = secrets;
      // The project's job policies, when the worker's document carries
      // them; otherwise v1's defaults for a project that does not say
      // (privileged allowed, host mounts not).
      this.allowPrivilegedJobs = policies && typeof policies.allowPrivileged === "boolean" ? policies.allowPrivileged : true;
      this.allowHostMounts =
        policies && typeof policies.allowDockerSocketMount === "boolean" ? policies.allowDockerSocketMount : false;
    }
  }
  const project = new Project();

  // ---- events (docs/scripting.md, "v1 events and the lifecycle") -------

  class EventRegistry extends EventEmitter {
    constructor() {
      super();
      this.on("ping", function () {
        console.log("ping");
      });
    }
    has(name) {
      return this.listenerCount(name) > 0;
    }
    // The event name is the type alone, whatever the provider.
    fire(e, proj) {
      this.emit(e.type, e, proj);
    }
    // Handlers add up (EventEmitter.on) and run in registration order.
    on(name, cb) {
      return super.on(name, cb);
    }
  }
  const events = new EventRegistry();

  // Set by fire(): run() uses the event and project of the last fire
  // (docs/scripting.md, "v1 jobs").
  let currentEvent = null;
  let currentProject = null;
  function fire(e, proj) {
    currentEvent = e;
    currentProject = proj;
    events.fire(e, proj);
  }

  class ErrorReport {}

  // ---- lifecycle: main event, after, error ------------------------------

  let errorFired = false;
  let afterFired = false;
  let workerHandlers = false;

  // The worker's own one-shot handlers, registered after the script's
  // top-level code so that the script's handlers run first.
  function installWorkerHandlers() {
    if (workerHandlers) return;
    workerHandlers = true;
    // The exit code is already 1: the session counts every unhandled
    // rejection (there is no build storage to destroy).
    events.once("error", function () {
      say("info", "", "error handler is cleaning up");
    });
    events.once("after", function () {
      afterFired = true;
      defer(function () {
        say("info", "", "after: default event fired");
      });
    });
  }

  function lifecycleEvent(type, cause) {
    return {
      buildID: mainEvent.buildID,
      workerID: mainEvent.workerID,
      type: type,
      provider: "brigade",
      revision: mainEvent.revision,
      logLevel: mainEvent.logLevel,
      cause: cause,
    };
  }

  // At most once per run, for unhandled rejections only (uncaught
  // exceptions end the run at once, as they crashed Node).
  process.on("unhandledRejection", function (reason) {
    if (errorFired) return;
    errorFired = true;
    installWorkerHandlers();
    fire(lifecycleEvent("error", { event: mainEvent, reason: reason, trigger: "unhandledRejection" }), project);
  });

  // When the loop drains: never after an error (the exit code is then not
  // 0), once, and only if the main event's type had a handler.
  process.on("beforeExit", function (code) {
    if (code !== 0 || afterFired) return;
    if (events.has(mainEvent.type)) {
      fire(lifecycleEvent("after", { event: mainEvent, trigger: code === 0 ? "success" : "failure" }), project);
      return;
    }
    afterFired = true;
    defer(function () {
      say("info", "", "no-after: fired");
    });
  });

  // The worker required the script, then fired the event inside a promise
  // chain: a handler's synchronous throw becomes an unhandled rejection.
  host.afterScript(function () {
    installWorkerHandlers();
    Promise.resolve().then(function () {
      fire(mainEvent, project);
    });
  });

  // ---- jobs (docs/scripting.md, "v1 jobs") -----------------------------

  const MAX_JOB_NAME_LENGTH = 36;
  // The same language as v1's /^(([a-z0-9][-a-z0-9.]*)?[a-z0-9])+$/,
  // written without nested quantifiers.
  const jobName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

  class JobCache {
    constructor() {
      this.enabled = false;
      this.size = "5Mi";
      this.path = "/mnt/brigade/cache";
    }
  }
  class JobStorage {
    constructor() {
      this.enabled = false;
      this.path = "/mnt/brigade/share";
    }
  }
  class JobHost {
    constructor() {
      this.nodeSelector = new Map();
    }
  }
  class JobDockerMount {
    constructor() {
      this.enabled = false;
    }
  }
  class JobResourceRequest {}
  class JobResourceLimit {}

  // run() resolves to this; toString() is the job's output.
  class K8sResult {
    constructor(data) {
      this.data = data;
    }
    toString() {
      return this.data;
    }
  }

  class Job {
    constructor(name, image, tasks, imageForcePull) {
      if (typeof name !== "string" || name.length > MAX_JOB_NAME_LENGTH || !jobName.test(name)) {
        throw new Error(
          "job name must be lowercase letters, numbers, and '-', and must not start or end with '-', having max length " +
            MAX_JOB_NAME_LENGTH
        );
      }
      this.name = name.toLowerCase();
      this.shell = "/bin/sh";
      // v1 quirk kept: no image means "" (the documented default was
      // overwritten by the constructor).
      this.image = image || "";
      this.imageForcePull = !!imageForcePull;
      this.tasks = tasks || [];
      this.args = [];
      this.env = {};
      this.imagePullSecrets = [];
      this.mountPath = "/src";
      this.timeout = 1000 * 60 * 15;
      this.useSource = true;
      this.privileged = false;
      this.cache = new JobCache();
      this.storage = new JobStorage();
      this.docker = new JobDockerMount();
      this.host = new JobHost();
      this.resourceRequests = new JobResourceRequest();
      this.resourceLimits = new JobResourceLimit();
      this.annotations = {};
      this.streamLogs = false;
      Object.defineProperty(this, "_podName", { value: "", writable: true });
    }

    get podName() {
      return this._podName;
    }

    // Creates the job, waits for its end, and resolves to its output. On
    // failure it prints the raw error (console.error in v1) and rejects
    // with "job <name>(<pod>): <error>" (docs/scripting.md, "v1 jobs").
    run() {
      const e = currentEvent || mainEvent;
      const p = currentProject || project;
      const name = this.name;
      const pod = `${name}-${e.buildID}`;
      this._podName = pod;
      const timeout = this.timeout || 60000;
      const streamLogs = this.streamLogs;
      function fail(err) {
        writeError(String(err));
        throw new Error(`job ${name}(${pod}): ${err}`);
      }
      let body;
      try {
        body = JSON.stringify(toCoreJob(this, p, timeout));
      } catch (err) {
        return Promise.reject(err).catch(fail);
      }
      say("debug", name, `creating job ${name} with a time limit of ${timeout} ms`);
      let last = "";
      return host
        .createJob(body, true) // every phase is logged as it comes
        .then(function () {
          say("info", name, `job ${name} created`);
          let ran = false;
          return host.waitJob(name, function (phase) {
            if (phase === last) return;
            // A status stream may skip a phase a quick job went through:
            // one that succeeded ran, so its start is said too.
            if (phase === "SUCCEEDED" && !ran) {
              const started = phaseLine(name, "RUNNING");
              say(started[0], name, started[1]);
            }
            ran = ran || phase === "RUNNING";
            last = phase;
            const line = phaseLine(name, phase);
            say(line[0], name, line[1]);
          });
        })
        .then(function (phase) {
          if (phase !== "SUCCEEDED") throw new Error(failure(phase, name, timeout));
          return host.jobLogs(name);
        })
        .then(function (log) {
          const out = plainLog(log);
          if (streamLogs && out) host.write(out);
          return new K8sResult(out);
        })
        .catch(fail);
    }

    // The job's output so far. Before run() there is no pod to ask, and v1
    // threw a TypeError.
    logs() {
      if (!this._podName) throw new TypeError(`job ${this.name} has not been run: logs() needs run() first`);
      return host.jobLogs(this.name).then(plainLog);
    }
  }

  // The line for a phase the job's status stream reports, and its level:
  // a job's start and end at INFO, the steps before its start at DEBUG.
  function phaseLine(name, phase) {
    switch (phase) {
      case "PENDING":
        return ["debug", `job ${name} is waiting to be started (PENDING)`];
      case "STARTING":
        return ["debug", `job ${name} is starting (STARTING)`];
      case "RUNNING":
        return ["info", `job ${name} started (RUNNING)`];
      case "SUCCEEDED":
        return ["info", `job ${name} succeeded (SUCCEEDED)`];
      case "FAILED":
        return ["info", `job ${name} failed (FAILED)`];
      case "TIMED_OUT":
        return ["info", `job ${name} timed out (TIMED_OUT)`];
    }
    return ["info", `job ${name} is ${phase}`];
  }

  // The inner error of a job that did not succeed.
  function failure(phase, name, timeout) {
    switch (phase) {
      case "FAILED":
        return `job ${name} failed to run to completion`;
      case "TIMED_OUT":
        return `time limit (${timeout} ms) exceeded`;
      case "ABORTED":
        return `job ${name} was aborted`;
      case "CANCELED":
        return `job ${name} was canceled before starting`;
      case "SCHEDULING_FAILED":
        return `job ${name} could not be scheduled`;
    }
    return "status stream closed";
  }

  // Host.JobLogs gives "<RFC3339 time>: <message>" lines; v1's Result was
  // the pod log itself: the messages, each ending in a newline.
  const stamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d): /;
  function plainLog(log) {
    if (!log) return "";
    return (
      String(log)
        .split("\n")
        .map(function (line) {
          return line.replace(stamp, "");
        })
        .join("\n") + "\n"
    );
  }

  // ---- the v1 job as a core.Job (docs/api.md) ---------------------------

  function shellFlags(shell) {
    const base = shell.slice(shell.lastIndexOf("/") + 1);
    if (base === "sh") return ["-e"];
    if (base === "bash") return ["-e", "-o", "pipefail"];
    return [];
  }

  function strings(list) {
    return Array.prototype.map.call(list || [], String);
  }

  function quantities(r) {
    if (!r) return undefined;
    const out = {};
    if (r.cpu) out.cpu = String(r.cpu);
    if (r.memory) out.memory = String(r.memory);
    return Object.keys(out).length ? out : undefined;
  }

  function selector(sel) {
    const out = {};
    if (sel instanceof Map) {
      sel.forEach(function (v, k) {
        out[String(k)] = String(v);
      });
    } else if (sel && typeof sel === "object") {
      // Divergence: v1 ignored a plain object (it read Map's .size); we
      // honour it.
      for (const k of Object.keys(sel)) out[k] = String(sel[k]);
    }
    return Object.keys(out).length ? out : undefined;
  }

  function environment(job) {
    const env = {};
    const src = job.env || {};
    for (const k of Object.keys(src)) {
      const v = src[k];
      if (v === null || v === undefined) {
        env[k] = "";
      } else if (typeof v === "object") {
        // A Kubernetes valueFrom (configMapKeyRef, fieldRef, secretKeyRef,
        // …) has nothing to resolve against here. v1 itself dropped
        // secretKeyRef with a warning; we drop them all with one.
        say("warn", job.name, `job ${job.name}: env ${k} uses valueFrom (${Object.keys(v).join(", ")}), which this platform cannot resolve; ${k} is not set`);
      } else {
        env[k] = String(v);
      }
    }
    return env;
  }

  function toCoreJob(job, p, timeout) {
    const c = {
      image: job.image ? String(job.image) : "",
      imagePullPolicy: job.imageForcePull ? "Always" : "IfNotPresent",
      privileged: false,
    };
    const tasks = strings(job.tasks);
    const args = strings(job.args);
    if (tasks.length > 0) {
      const shell = job.shell ? String(job.shell) : "/bin/sh";
      c.command = [shell].concat(shellFlags(shell), ["-c", tasks.join("\n")]);
      // With tasks, args are the script's $1…; $0 is the shell.
      if (args.length > 0) c.command.push(shell);
    }
    if (args.length > 0) c.arguments = args;
    const env = environment(job);
    if (Object.keys(env).length) c.environment = env;
    if (job.useSource !== false && p.repo && p.repo.cloneURL) {
      c.sourceMountPath = job.mountPath ? String(job.mountPath) : "/src";
    }
    if (job.storage && job.storage.enabled) {
      if (docWorker.useWorkspace === false) {
        throw new Error(
          "storage.enabled needs the shared workspace, but this project's workerTemplate.useWorkspace is false " +
            "(Brigade v1 always had build storage; set useWorkspace: true on the project)"
        );
      }
      c.workspaceMountPath = job.storage.path ? String(job.storage.path) : "/mnt/brigade/share";
    }
    if (job.privileged) {
      if (p.allowPrivilegedJobs) c.privileged = true;
      else say("warn", job.name, `job ${job.name}: privileged is ignored: the project does not allow privileged jobs`);
    }
    if (job.docker && job.docker.enabled) {
      if (p.allowHostMounts) c.useHostDockerSocket = true;
      else say("warn", job.name, `job ${job.name}: docker.enabled is ignored: the project does not allow host mounts`);
    }
    if (job.serviceAccount) c.serviceAccount = String(job.serviceAccount);
    const requests = quantities(job.resourceRequests);
    const limits = quantities(job.resourceLimits);
    if (requests || limits) c.resources = { requests: requests, limits: limits };
    for (const field of ["imagePullSecrets", "volumes", "volumeMounts"]) {
      if (job[field] && job[field].length) {
        say("warn", job.name, `job ${job.name}: ${field} is not supported by this platform and is ignored`);
      }
    }

    const spec = { primaryContainer: c, timeoutDuration: `${timeout}ms`, fallible: false };
    const h = job.host || {};
    const jobHost = {};
    if (h.os) jobHost.os = String(h.os);
    if (h.name) jobHost.name = String(h.name);
    const nodeSelector = selector(h.nodeSelector);
    if (nodeSelector) jobHost.nodeSelector = nodeSelector;
    if (Object.keys(jobHost).length) spec.host = jobHost;
    if (job.cache && job.cache.enabled) {
      spec.cache = {
        path: job.cache.path ? String(job.cache.path) : "/mnt/brigade/cache",
        size: job.cache.size ? String(job.cache.size) : "5Mi",
      };
    }
    return { apiVersion: "brigade.sh/v2", kind: "Job", name: job.name, spec: spec };
  }

  // ---- groups (docs/scripting.md, "v1 groups") -------------------------

  class Group {
    constructor(jobs) {
      this.jobs = jobs || [];
    }
    add(...jobs) {
      for (const j of jobs) this.jobs.push(j);
    }
    length() {
      return this.jobs.length;
    }
    // One after another; the first rejection stops the chain.
    runEach() {
      return this.jobs.reduce(function (chain, job) {
        return chain.then(function (results) {
          return job.run().then(function (r) {
            results.push(r);
            return results;
          });
        });
      }, Promise.resolve([]));
    }
    // All at once; rejects on the first failure while the others go on.
    runAll() {
      return Promise.all(
        this.jobs.map(function (j) {
          return j.run();
        })
      );
    }
    static runAll(jobs) {
      return new Group(jobs).runAll();
    }
    static runEach(jobs) {
      return new Group(jobs).runEach();
    }
  }

  module.exports = {
    events: events,
    fire: fire,
    Job: Job,
    Group: Group,
    ErrorReport: ErrorReport,
  };
});
