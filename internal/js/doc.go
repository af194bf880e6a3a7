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
// Decisions on the original workers' quirks and open questions
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
//   - npm/yarn dependencies are not installed here but by the worker
//     beforehand (package npm, in Go); this package bundles the pure-JS
//     packages in <Dir>/node_modules, and a missing one is a build error
//     that says where packages are looked up. package.json
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

// Brigade v1 scripts (docs/scripting.md "brigadier v1", jslib/brigadier_v1.js)
//
// The module name picks the dialect: "brigadier", "@azure/brigadier" and
// "brigade" load v1 (one shared module object); "@brigadecore/brigadier"
// loads v2, although the v1 worker aliased that name to v1 too. One script
// uses one dialect; requiring both fails at the second require().
//
// Nothing calls events.process() in v1: once the script's top-level code
// has run, the dialect fires the event inside a promise chain (a handler's
// synchronous throw becomes an unhandled rejection), handlers added with
// events.on(type, (e, p) => …) accumulate and run in order, and dispatch is
// by the event's type alone, whatever its source.
//
// The BrigadeEvent, from the event document (event.json):
//
//   - buildID = id; workerID = "brigade-worker-" + id (v1's worker pod was
//     named so); type = type (else "ping"); provider = source (else
//     "unknown");
//   - cloneURL = worker.git.cloneURL; revision = {commit, ref} from
//     worker.git (both undefined without git);
//   - payload = payload as it is: a string, "" when the event had none (v1
//     had undefined and logged "no payload loaded" when its file was
//     missing);
//   - logLevel = v1's number for the run's level: DEBUG → ALL (0),
//     INFO → LOG (1), WARN → WARN (3), ERROR → ERROR (4);
//   - cause only on the "after" and "error" events.
//
// The Project (an instance of a Project class, not exported):
//
//   - id = name = project.id (v1's name was the repository name);
//   - repo = {name: project.id, cloneURL: worker.git.cloneURL or null,
//     initGitSubmodules: worker.git.initSubmodules}, plus token (secret
//     gitPassword) and sshKey (secret gitSSHKey) when those secrets exist:
//     they are the v2 project's git credentials, as github.token and sshKey
//     were v1's. repo is always there, so p.repo.cloneURL never throws;
//   - kubernetes = {namespace: project.kubernetes.namespace or "", the
//     other v1 keys with v1's defaults (buildStorageSize "50Mi", "" for the
//     rest)};
//   - secrets = project.secrets;
//   - allowPrivilegedJobs = worker.jobPolicies.allowPrivileged, and
//     allowHostMounts = worker.jobPolicies.allowDockerSocketMount, when the
//     document has them; otherwise v1's defaults for a project that does
//     not say: true and false.
//
// Lifecycle (docs/scripting.md, "v1 events and the lifecycle"): "error" fires at most once, on the first
// unhandled rejection (never for an uncaught exception, which ends the run
// at once with exit code 1), with cause {event: main event, reason,
// trigger: "unhandledRejection"}; the script's error handlers run before
// the worker's own, which logs "error handler is cleaning up"; work they
// start runs to its end. "after" fires when the event loop drains, once,
// only if the main event's type has a handler ("no-after: fired"
// otherwise) and only if the exit code is still 0, so never after an
// error; an error may follow it. Jobs in after/error handlers share the
// event, so their names must not repeat earlier ones (the API answers 409).
//
// A v1 Job becomes an ordinary core.Job (docs/api.md):
//
//   - name: checked in the constructor (v1's pattern, at most 36
//     characters: digits first, dots and one-letter names are fine), which
//     throws v1's message; lower-cased. It is the job's name in the API.
//     "<name>-<buildID>" is only the v1 podName, used in log lines and
//     rejection messages;
//   - tasks → command [shell, "-e", "-c", tasks joined by "\n"] for a shell
//     named sh, [shell, "-e", "-o", "pipefail", "-c", …] for bash, and
//     [shell, "-c", …] for any other (v1 added `set -e` / `set -eo
//     pipefail` to its script for /bin/sh and /bin/bash only; we match on
//     the shell's base name). shell defaults to /bin/sh, "" means /bin/sh.
//     The flags replace v1's "#!shell" and "set -e" lines. No tasks: no
//     command (the image's entrypoint runs);
//   - args → arguments. With tasks they are the script's $1…: the shell is
//     appended to the command as $0 (v1's was /hook/main.sh);
//   - env: strings as they are; null/undefined → ""; numbers and booleans
//     → String(v); valueFrom objects (configMapKeyRef, fieldRef,
//     secretKeyRef, …) cannot be resolved here: the variable is left out
//     with a WARN line (v1 dropped secretKeyRef the same way by default);
//   - timeout (milliseconds) → timeoutDuration "<ms>ms"; 0 means 60000, as
//     v1's wait did; the API's observer enforces it (TIMED_OUT);
//   - image (v1 quirk kept: "" when not given), imageForcePull → pull
//     policy Always, else IfNotPresent;
//   - mountPath → sourceMountPath (default /src), only when the project has
//     git (repo.cloneURL) and useSource is not false; v1's vcsSidecar
//     setting is not consulted;
//   - storage.enabled → workspaceMountPath storage.path (default
//     /mnt/brigade/share). v1 always had build storage; here it is the
//     event's shared workspace, which needs the project's
//     workerTemplate.useWorkspace. When the document says useWorkspace is
//     false, run() rejects before creating the job, with a message that
//     says so (the API would answer 409);
//   - cache {enabled, size, path} → spec.cache {path (default
//     /mnt/brigade/cache), size (default 5Mi)};
//   - host.os, host.name → spec.host.os, .name; host.nodeSelector (a Map,
//     .set) → spec.host.nodeSelector. Divergence: a plain object is
//     honoured too (v1 ignored it, reading Map's .size);
//   - resourceRequests/resourceLimits {cpu, memory} → primary container
//     resources {requests, limits};
//   - privileged → privileged only when the project allows privileged jobs;
//     otherwise dropped (v1 silently ignored it; the API would answer 403)
//     with a line saying so (v1 said nothing);
//   - docker.enabled → useHostDockerSocket only when the project allows
//     host mounts; otherwise dropped with a line saying so;
//   - serviceAccount → the primary container's serviceAccount;
//   - imagePullSecrets, volumes, volumeMounts: no place in a core.Job;
//     ignored with a line saying so. annotations: ignored. fallible: false.
//
// run() (docs/scripting.md, "v1 jobs") does not print v1's "[brigade:k8s]" lines
// ("Creating pod …", "Timeout set at …", "<pod> phase Pending"): no pod
// exists here, so they would be invented. The worker's lines about a job
// say what the API reports, in the worker's leveled format with the job's
// tag: DEBUG "creating job <name> with a time limit of <ms> ms", INFO
// "job <name> created" once the API took it, then one line per phase the
// job's status stream reports (each once): DEBUG "… is waiting to be
// started (PENDING)" and "… is starting (STARTING)", INFO "… started
// (RUNNING)", "… succeeded (SUCCEEDED)", "… failed (FAILED)", "… timed out
// (TIMED_OUT)", "… is <PHASE>" otherwise. Being leveled, they obey the
// run's level and `brig exec -l`. run() resolves to a K8sResult whose
// toString() is the job's output: Host.JobLogs after the job ended, with
// the "<time>: " prefixes removed and a newline after each line, as v1's
// pod log read. On failure it prints the inner error (console.error in v1)
// and rejects with "job <name>(<podName>): Error: <inner>", the inner
// error being "job <name> failed to run to completion" (FAILED), "time
// limit (<ms> ms) exceeded" (TIMED_OUT), "job <name> was aborted", "…
// was canceled before starting", "… could not be scheduled" (phases v1
// did not have), "status stream closed", or the Host's error text (v1:
// the Kubernetes API's message; v1's inner texts named the pod). The
// podName is v1's "<name>-<buildID>", kept because scripts read it.
// streamLogs copies the output into the worker log once the job has
// ended (v1 streamed it while the job ran). logs()
// returns the output so far; before run() it throws a TypeError, as v1
// did; v1's "still unscheduled or pending" answer is not copied. A run()
// called before any event fired uses the main event.
//
// Exports: events, fire(e, p), Job, Group (add, length, runAll, runEach,
// static runAll/runEach over an array), ErrorReport, as the v1 worker's
// module. There is no events.process().
//
// Logging and exit (docs/scripting.md, "Logging"): the worker's own lines are leveled
// as above; a job field this platform cannot honour is a WARN line with
// the job's tag; the lifecycle notes ("after: default event fired",
// "no-after: fired", "error handler is cleaning up") are INFO lines.
// Unhandled rejections and uncaught exceptions print as
// "[brigade:app] <reason>" (an Error as "Error: <message>" plus the
// script's frames; an uncaught exception as "[brigade:app] uncaught
// exception: …", where Node printed its crash report). Exit codes are v2's
// (1 for any unhandled rejection, uncaught exception or failed build, n for
// process.exit(n)). Not printed, because nothing here does it: the version
// line (the worker prints its own), "Creating secret", and the build PVC
// lines ("Creating PVC named …", "beforeExit(2): destroying storage").
