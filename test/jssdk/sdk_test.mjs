// Brigade's official JavaScript SDK (@brigadecore/brigade-sdk 2.4.1, pinned in
// package.json) against this server, one test per area of the API.
//
// internal/httpapi/jssdk_test.go (TestOfficialJSSDK) starts the server in-process
// and runs `node --test sdk_test.mjs` here with:
//
//   BRIGADE_SERVER           the API address, e.g. http://127.0.0.1:41234
//   BRIGADE_ROOT_PASSWORD    the root password
//   BRIGADE_SCHEDULER_TOKEN  the scheduler's token (worker and job start)
//   BRIGADE_OBSERVER_TOKEN   the observer's token (status, cleanup, timeout)
//   BRIGADE_TEST_HELPER      optional: the Go test's helper server, for what
//                            only the server's own runner does: starting a
//                            worker in-process (the one way to get its token,
//                            which the API never hands out over HTTP) or a job
//                            (with its real environment), writing log lines,
//                            and listing the cleanups due. Tests that need it
//                            are skipped without it.
//
// The server runs no substrate: the scheduler's and observer's endpoints only
// change state, as an external scheduler and observer would drive them.
//
// Every API call goes through the SDK. Two endpoints have no SDK method in 2.4.1
// (PUT /v2/events/{id}/source-state and PUT /v2/events/{id}/worker/timeout);
// they go through the SDK's own REST machinery (dist/rest_machinery), so the
// transport, headers and error mapping are still the SDK's.
//
// The SDK has no error classes: it throws a plain Error whose message it builds
// from the server's error body (404: `${type} "${id}" not found.`, 400:
// `Bad request: ${reason}` plus numbered details, 409: the reason, ...). The
// error tests pin those messages.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { APIClient, core } from "@brigadecore/brigade-sdk";
import { collect } from "./collect.mjs";

const require = createRequire(import.meta.url);
const rm = require("@brigadecore/brigade-sdk/dist/rest_machinery");

const { WorkerPhase, JobPhase, WorkerPhasesAll } = core;

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; see the top of ${import.meta.url}`);
  }
  return value;
}

const address = env("BRIGADE_SERVER");
const rootPassword = env("BRIGADE_ROOT_PASSWORD");
const schedulerToken = env("BRIGADE_SCHEDULER_TOKEN");
const observerToken = env("BRIGADE_OBSERVER_TOKEN");
const helperURL = process.env.BRIGADE_TEST_HELPER;

const TEST_TIMEOUT_MS = 60_000;
const plain = { timeout: TEST_TIMEOUT_MS };
const needsHelper = helperURL
  ? plain
  : { ...plain, skip: "BRIGADE_TEST_HELPER is not set (only jssdk_test.go provides it)" };

// Names are unique per run, so the script can also run against a server that
// already holds data.
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
const projectID = (name) => `js-${run}-${name}`;
const source = (name) => `jssdk.test/${run}/${name}`;

const anonymous = new APIClient(address, "");
const scheduler = new APIClient(address, schedulerToken);
const observer = new APIClient(address, observerToken);
let rootToken;
let root;

const createdProjects = [];

before(async () => {
  const token = await anonymous.authn().sessions().createRootSession(rootPassword);
  rootToken = token.value;
  root = new APIClient(address, rootToken);
});

after(async () => {
  for (const id of createdProjects) {
    await root?.core().projects().delete(id).catch(() => {});
  }
});

// ---------------------------------------------------------------------------
// Helpers

/** Calls an endpoint the SDK has no method for, through the SDK's own client. */
function sdkRequest(token, method, path, { kind, body, successCode = 200 } = {}) {
  const req = new rm.Request(method, path);
  if (body) {
    req.bodyObjKind = kind;
    req.bodyObj = body;
  }
  req.successCode = successCode;
  return new rm.Client(address, token).executeRequest(req);
}

async function createProject(name, subscriptions, workerTemplate = {}) {
  const id = projectID(name);
  const project = await root.core().projects().create({
    metadata: { id },
    description: `JS SDK test project ${name}`,
    spec: {
      eventSubscriptions: subscriptions,
      workerTemplate: {
        logLevel: "DEBUG",
        defaultConfigFiles: { "brigade.js": "console.log('hello')" },
        ...workerTemplate,
      },
    },
  });
  createdProjects.push(id);
  return project;
}

/** Creates a project subscribed to one source, for tests that need events. */
async function projectFor(name, workerTemplate) {
  const project = await createProject(name, [{ source: source(name), types: ["*"] }], workerTemplate);
  return { id: project.metadata.id, source: source(name) };
}

/** Creates one event for one project and returns it. */
async function createEvent(project, type = "exec", extra = {}) {
  const list = await root.core().events().create({
    projectID: project.id,
    source: project.source,
    type,
    ...extra,
  });
  assert.equal(list.items.length, 1, "one event per named, subscribed project");
  return list.items[0];
}

/** Starts an event's worker as the scheduler and reports it RUNNING as the observer. */
async function startRunningWorker(eventID) {
  await scheduler.core().events().workers().start(eventID);
  await observer.core().events().workers().updateStatus(eventID, {
    phase: WorkerPhase.Running,
    started: new Date(),
  });
}

async function phaseOf(eventID) {
  return (await root.core().events().workers().getStatus(eventID)).phase;
}

const isTime = (v) => typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v);
const ids = (list) => (list.items ?? []).map((e) => e.metadata.id).sort();

async function helper(method, path, body) {
  const res = await fetch(`${helperURL}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `test helper ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * Starts an event's worker in-process as the scheduler, as the server's runner
 * does, and returns an SDK client holding the worker's token: the API mints it
 * then and writes it into the worker's event.json, never into a reply.
 */
async function startWorkerAsRunner(eventID) {
  const { token } = await helper("POST", `/test/start-worker?event=${eventID}`);
  return new APIClient(address, token);
}

/** startWorkerAsRunner, then the observer reports the worker RUNNING. */
async function runningWorkerClient(eventID) {
  const worker = await startWorkerAsRunner(eventID);
  await observer.core().events().workers().updateStatus(eventID, {
    phase: WorkerPhase.Running,
    started: new Date(),
  });
  return worker;
}

/** Starts a job in-process as the runner does; returns its real environment. */
async function startJobAsRunner(eventID, job) {
  const { environment } = await helper("POST", `/test/start-job?event=${eventID}&job=${job}`);
  return environment;
}

/** Appends lines to a worker's (or job's) log, as a substrate would. */
function writeLogs(eventID, lines, { job, container, close } = {}) {
  const q = new URLSearchParams({ event: eventID });
  if (job) q.set("job", job);
  if (container) q.set("container", container);
  if (close) q.set("close", "true");
  return helper("POST", `/test/logs?${q}`, lines);
}

/** The events whose cleanup is due now. */
const cleanupsDue = () => helper("GET", "/test/cleanups-due");

/** The counts of workers and of jobs that occupy capacity (STARTING, RUNNING or UNKNOWN). */
async function runningCounts() {
  const workers = await root.core().substrate().countRunningWorkers();
  assert.equal(workers.kind, "SubstrateWorkerCount");
  const jobs = await scheduler.core().substrate().countRunningJobs();
  assert.equal(jobs.kind, "SubstrateJobCount");
  assert.ok(Number.isInteger(workers.count) && Number.isInteger(jobs.count), `counts: ${workers.count}, ${jobs.count}`);
  return { workers: workers.count, jobs: jobs.count };
}

// ---------------------------------------------------------------------------
// System and authentication

test("system: ping() reads the PingResponse of /v2/ping and unversionedPing() the text of /ping, without a token", plain, async () => {
  const pong = await anonymous.system().ping();
  assert.equal(pong.kind, "PingResponse");
  assert.equal(pong.apiVersion, "brigade.sh/v2");
  assert.equal(typeof pong.version, "string", "the SDK's PingResponse declares a lowercase `version`");
  assert.equal(pong.Version, pong.version, "Brigade's own server spells it `Version`");

  const text = await anonymous.system().unversionedPing();
  assert.match(String(text), /^version \S+ -- commit/);
});

test("authn: createRootSession() returns a Token, whoAmI() names root, a wrong password is a 401, sessions().delete() logs out", plain, async () => {
  const token = await anonymous.authn().sessions().createRootSession(rootPassword);
  assert.equal(token.kind, "Token");
  assert.ok(token.value.length >= 32, "a long random bearer token");
  const session = new APIClient(address, token.value);

  const me = await session.authn().whoAmI();
  assert.equal(me.kind, "PrincipalReference");
  assert.deepEqual({ type: me.type, id: me.id }, { type: "ROOT", id: "root" });

  await assert.rejects(anonymous.authn().sessions().createRootSession(`not-${rootPassword}`), {
    message: /^Could not authenticate the request: .+/,
  });

  await session.authn().sessions().delete();
  await assert.rejects(session.authn().whoAmI(), {
    message: /^Could not authenticate the request: Session not found or may have expired/,
  });
  // The test session is gone; the suite's own root session still works.
  assert.equal((await root.authn().whoAmI()).id, "root");
});

test("transport: an API address ending in / still works, POSTs and streams included (the SDK then asks for //v2/...)", plain, async () => {
  const slashed = new APIClient(`${address}/`, rootToken);
  assert.equal((await slashed.system().ping()).kind, "PingResponse");
  const project = await projectFor("slash");
  const list = await slashed.core().events().create({ projectID: project.id, source: project.source, type: "exec" });
  assert.equal(list.items.length, 1, "the POST kept its method and body");
  const id = list.items[0].metadata.id;
  await new APIClient(`${address}/`, schedulerToken).core().events().workers().start(id);
  await observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Succeeded, ended: new Date() });
  const watch = collect(slashed.core().events().workers().watchStatus(id), "watch through //v2/...");
  await watch.untilDone();
  assert.deepEqual(watch.phases(), [WorkerPhase.Succeeded]);
});

// ---------------------------------------------------------------------------
// Projects and secrets

test("projects: create(), get(), update() (also with CreateIfNotFound) and delete() round-trip", plain, async () => {
  const subscriptions = [{ source: source("crud"), types: ["exec"] }];
  const created = await createProject("crud", subscriptions);
  const id = created.metadata.id;
  assert.equal(created.kind, "Project");
  assert.ok(isTime(created.metadata.created), `created is an RFC 3339 UTC time: ${created.metadata.created}`);

  const got = await root.core().projects().get(id);
  assert.equal(got.kind, "Project");
  assert.equal(got.description, "JS SDK test project crud");
  assert.deepEqual(got.spec.eventSubscriptions, subscriptions);
  assert.equal(got.spec.workerTemplate.logLevel, "DEBUG");
  assert.equal(got.spec.workerTemplate.defaultConfigFiles["brigade.js"], "console.log('hello')");

  // A fresh object: like Brigade's, the schema refuses read-only fields such
  // as metadata.created, so a fetched project cannot be sent back as it is.
  const updated = await root.core().projects().update({
    metadata: { id },
    description: "updated by the JS SDK",
    spec: { eventSubscriptions: subscriptions, workerTemplate: { logLevel: "WARN" } },
  });
  assert.equal(updated.kind, "Project");
  assert.equal(updated.description, "updated by the JS SDK");
  const reread = await root.core().projects().get(id);
  assert.equal(reread.description, "updated by the JS SDK");
  assert.equal(reread.spec.workerTemplate.logLevel, "WARN");

  const upsertID = projectID("upsert");
  await assert.rejects(
    root.core().projects().update({ metadata: { id: upsertID }, spec: { workerTemplate: {} } }),
    { message: `Project "${upsertID}" not found.` },
  );
  createdProjects.push(upsertID);
  await root.core().projects().update({ metadata: { id: upsertID }, spec: { workerTemplate: {} } }, { CreateIfNotFound: true });
  assert.equal((await root.core().projects().get(upsertID)).metadata.id, upsertID);

  await root.core().projects().delete(id);
  await assert.rejects(root.core().projects().get(id), { message: `Project "${id}" not found.` });
});

test("projects: list() with limit 2 pages through every project by following metadata.continue", plain, async () => {
  const mine = [];
  for (const name of ["page-a", "page-b", "page-c"]) {
    mine.push((await createProject(name, [])).metadata.id);
  }

  const seen = [];
  let total;
  let opts = { limit: 2 };
  for (let pages = 1; ; pages++) {
    assert.ok(pages <= 100, "paging must end");
    const page = await root.core().projects().list({}, opts);
    assert.equal(page.kind, "ProjectList");
    assert.ok(page.items.length >= 1 && page.items.length <= 2, `a page holds 1 or 2 items, not ${page.items.length}`);
    total ??= page.items.length + page.metadata.remainingItemCount;
    seen.push(...page.items.map((p) => p.metadata.id));
    if (page.metadata.remainingItemCount === 0) {
      assert.equal(page.metadata.continue, undefined, "no cursor on the last page");
      assert.ok(pages >= 2, "3 projects with limit 2 take at least 2 pages");
      break;
    }
    assert.ok(page.metadata.continue, "a cursor whenever items remain");
    opts = { limit: 2, continue: page.metadata.continue };
  }
  assert.equal(seen.length, total, "first page + remainingItemCount = everything");
  assert.deepEqual(seen, [...seen].sort(), "ordered by id");
  assert.equal(new Set(seen).size, seen.length, "no project twice");
  for (const id of mine) assert.ok(seen.includes(id), `${id} listed`);
});

test("secrets: set() stores values, list() returns sorted keys without values, unset() removes one and tolerates a missing key", plain, async () => {
  const { id } = await projectFor("secrets");
  const secrets = root.core().projects().secrets();
  await secrets.set(id, { key: "zeta", value: "last" });
  await secrets.set(id, { key: "alpha", value: "first" });
  await secrets.set(id, { key: "alpha", value: "overwritten" });

  const list = await secrets.list(id);
  assert.equal(list.kind, "SecretList");
  assert.deepEqual(list.items.map((s) => s.key), ["alpha", "zeta"]);
  for (const s of list.items) {
    assert.equal(s.kind, "Secret");
    assert.equal(s.value, undefined, "values are never read back");
  }

  const firstPage = await secrets.list(id, { limit: 1 });
  assert.deepEqual(firstPage.items.map((s) => s.key), ["alpha"]);
  assert.equal(firstPage.metadata.remainingItemCount, 1);
  const secondPage = await secrets.list(id, { limit: 1, continue: firstPage.metadata.continue });
  assert.deepEqual(secondPage.items.map((s) => s.key), ["zeta"]);

  await secrets.unset(id, "alpha");
  await secrets.unset(id, "never-set");
  assert.deepEqual((await secrets.list(id)).items.map((s) => s.key), ["zeta"]);
});

// ---------------------------------------------------------------------------
// Events

test("events: create() fans out to the 2 subscribed projects, skips the unsubscribed one, and is a 201 with 0 items when that one is named", plain, async () => {
  const src = source("fanout");
  const a = await createProject("fan-a", [{ source: src, types: ["push"] }]);
  const b = await createProject("fan-b", [{ source: src, types: ["push", "pull"] }]);
  const c = await createProject("fan-c", [{ source: src, types: ["tag"] }]);

  const list = await root.core().events().create({
    source: src,
    type: "push",
    shortTitle: "fan-out",
    payload: "{\"n\":1}",
    git: { cloneURL: "https://github.com/example/repo.git", ref: "refs/heads/main" },
  });
  assert.equal(list.kind, "EventList");
  assert.equal(list.items.length, 2);
  assert.deepEqual(list.items.map((e) => e.projectID).sort(), [a.metadata.id, b.metadata.id]);
  assert.notEqual(list.items[0].metadata.id, list.items[1].metadata.id, "each project gets its own event");
  for (const e of list.items) {
    assert.equal(e.kind, "Event");
    assert.ok(isTime(e.metadata.created));
    assert.equal(e.source, src);
    assert.equal(e.shortTitle, "fan-out");
    assert.equal(e.payload, "{\"n\":1}");
    assert.equal(e.worker.status.phase, WorkerPhase.Pending);
    assert.equal(e.worker.spec.workspaceSize, "10Gi");
    assert.equal(e.worker.spec.logLevel, "DEBUG", "from the project's template");
    assert.equal(e.worker.spec.configFilesDirectory, ".brigade");
    assert.equal(e.worker.spec.git.cloneURL, "https://github.com/example/repo.git", "the event's git overrides the template");
  }

  const none = await root.core().events().create({ projectID: c.metadata.id, source: src, type: "push" });
  assert.equal(none.kind, "EventList");
  assert.equal((none.items ?? []).length, 0);
  const ofC = await root.core().events().list({ projectID: c.metadata.id });
  assert.equal((ofC.items ?? []).length, 0, "nothing was stored for the unsubscribed project");
});

test("events: list() selects by projectID, source, type, qualifiers, labels and workerPhases, newest first, and pages", plain, async () => {
  const src = source("select");
  const p = await createProject("select", [{ source: src, types: ["*"], qualifiers: { repo: "demo" } }]);
  const project = p.metadata.id;
  const make = async (type, branch) =>
    (await root.core().events().create({ projectID: project, source: src, type, qualifiers: { repo: "demo" }, labels: { branch } }))
      .items[0].metadata.id;
  const e1 = await make("push", "main");
  const e2 = await make("pr", "dev");
  const e3 = await make("push", "dev");
  const events = root.core().events();

  const all = await events.list({ projectID: project });
  assert.equal(all.kind, "EventList");
  assert.deepEqual(ids(all), [e1, e2, e3].sort());
  const created = all.items.map((e) => Date.parse(e.metadata.created));
  assert.deepEqual(created, [...created].sort((x, y) => y - x), "newest first");

  assert.deepEqual(ids(await events.list({ source: src })), [e1, e2, e3].sort());
  assert.deepEqual(ids(await events.list({ projectID: project, type: "push" })), [e1, e3].sort());
  assert.deepEqual(ids(await events.list({ projectID: project, labels: { branch: "dev" } })), [e2, e3].sort());
  assert.deepEqual(ids(await events.list({ projectID: project, qualifiers: { repo: "demo" } })), [e1, e2, e3].sort());
  assert.deepEqual(ids(await events.list({ projectID: project, qualifiers: { repo: "other" } })), []);

  await scheduler.core().events().workers().start(e1);
  assert.deepEqual(ids(await events.list({ projectID: project, workerPhases: [WorkerPhase.Starting] })), [e1]);
  assert.deepEqual(ids(await events.list({ projectID: project, workerPhases: [WorkerPhase.Pending] })), [e2, e3].sort());

  const page1 = await events.list({ projectID: project }, { limit: 2 });
  assert.equal(page1.items.length, 2);
  assert.equal(page1.metadata.remainingItemCount, 1);
  assert.ok(page1.metadata.continue);
  const page2 = await events.list({ projectID: project }, { limit: 2, continue: page1.metadata.continue });
  assert.equal(page2.items.length, 1);
  assert.equal(page2.metadata.remainingItemCount, 0);
  assert.equal(page2.metadata.continue, undefined);
  assert.deepEqual([...ids(page1), ...ids(page2)].sort(), [e1, e2, e3].sort());
});

test("events: get() returns the event and clone() makes a new PENDING event labelled brigade.sh/cloneOf", plain, async () => {
  const project = await projectFor("clone");
  const original = await createEvent(project, "exec", { labels: { team: "js" }, payload: "hello" });
  const id = original.metadata.id;

  const got = await root.core().events().get(id);
  assert.equal(got.kind, "Event");
  assert.equal(got.metadata.id, id);
  assert.equal(got.projectID, project.id);
  assert.equal(got.payload, "hello");
  assert.equal(got.worker.status.phase, WorkerPhase.Pending);

  await startRunningWorker(id);
  const clone = await root.core().events().clone(id);
  assert.equal(clone.kind, "Event");
  assert.notEqual(clone.metadata.id, id);
  assert.equal(clone.projectID, project.id);
  assert.equal(clone.payload, "hello");
  assert.deepEqual(clone.labels, { team: "js", "brigade.sh/cloneOf": id });
  assert.equal(clone.worker.status.phase, WorkerPhase.Pending, "a clone gets a fresh worker");
  assert.equal((await root.core().events().get(clone.metadata.id)).labels["brigade.sh/cloneOf"], id);
});

test("events: retry() of a running event is a 409; once the observer ends the worker it makes a new event labelled brigade.sh/retryOf", plain, async () => {
  const project = await projectFor("retry");
  const id = (await createEvent(project)).metadata.id;
  await startRunningWorker(id);

  await assert.rejects(root.core().events().retry(id), { message: new RegExp(`phase "RUNNING" is non-terminal and may not yet be retried.*${id}`) });

  await observer.core().events().workers().updateStatus(id, {
    phase: WorkerPhase.Failed,
    started: new Date(Date.now() - 1000),
    ended: new Date(),
  });
  const retry = await root.core().events().retry(id);
  assert.equal(retry.kind, "Event");
  assert.notEqual(retry.metadata.id, id);
  assert.equal(retry.labels["brigade.sh/retryOf"], id);
  assert.equal(retry.worker.status.phase, WorkerPhase.Pending);
  assert.equal(retry.worker.spec.logLevel, "DEBUG", "the original worker spec is kept");
});

test("events: source state written through the SDK's REST machinery is stored and selectable with sourceState", plain, async () => {
  const project = await projectFor("source-state");
  const id = (await createEvent(project)).metadata.id;
  const other = (await createEvent(project)).metadata.id;

  const reply = await sdkRequest(rootToken, "PUT", `v2/events/${id}/source-state`, {
    kind: "SourceState",
    body: { state: { cursor: "42", phase: "sent" } },
  });
  assert.equal(reply, null, "void operations answer the JSON literal null");

  assert.deepEqual((await root.core().events().get(id)).sourceState, { state: { cursor: "42", phase: "sent" } });
  assert.equal((await root.core().events().get(other)).sourceState, undefined);
  assert.deepEqual(ids(await root.core().events().list({ projectID: project.id, sourceState: { cursor: "42" } })), [id]);
});

test("events: cancel() turns PENDING into CANCELED and RUNNING into ABORTED; cancelling a finished event is a 409", plain, async () => {
  const project = await projectFor("cancel");
  const pending = (await createEvent(project)).metadata.id;
  const running = (await createEvent(project)).metadata.id;
  await startRunningWorker(running);

  await root.core().events().cancel(pending);
  assert.equal(await phaseOf(pending), WorkerPhase.Canceled);
  await root.core().events().cancel(running);
  assert.equal(await phaseOf(running), WorkerPhase.Aborted);

  await assert.rejects(root.core().events().cancel(pending), { message: new RegExp(pending) });
});

test("events: cancelMany() cancels the project's PENDING, STARTING and RUNNING events only and returns the count", plain, async () => {
  const project = await projectFor("cancel-many");
  const bystander = await projectFor("cancel-many-other");
  const pending = (await createEvent(project)).metadata.id;
  const running = (await createEvent(project)).metadata.id;
  const finished = (await createEvent(project)).metadata.id;
  const elsewhere = (await createEvent(bystander)).metadata.id;
  await startRunningWorker(running);
  await startRunningWorker(finished);
  await observer.core().events().workers().updateStatus(finished, { phase: WorkerPhase.Succeeded, ended: new Date() });

  const result = await root.core().events().cancelMany({ projectID: project.id, workerPhases: WorkerPhasesAll });
  assert.equal(result.kind, "CancelManyEventsResult");
  assert.equal(result.count, 2);
  assert.equal(await phaseOf(pending), WorkerPhase.Canceled);
  assert.equal(await phaseOf(running), WorkerPhase.Aborted);
  assert.equal(await phaseOf(finished), WorkerPhase.Succeeded);
  assert.equal(await phaseOf(elsewhere), WorkerPhase.Pending, "other projects are untouched");

  await assert.rejects(root.core().events().cancelMany({ workerPhases: WorkerPhasesAll }), {
    message: /^Bad request: .*projectID/,
  });
});

test("events: delete() removes one event (then get() is a 404) and deleteMany() removes the selected phases and returns the count", plain, async () => {
  const project = await projectFor("delete");
  const made = [];
  for (let i = 0; i < 4; i++) made.push((await createEvent(project)).metadata.id);
  const [one, , canceled] = made; // the other two stay PENDING
  await root.core().events().cancel(canceled);

  await root.core().events().delete(one);
  await assert.rejects(root.core().events().get(one), { message: `Event "${one}" not found.` });

  const pendingGone = await root.core().events().deleteMany({ projectID: project.id, workerPhases: [WorkerPhase.Pending] });
  assert.equal(pendingGone.kind, "DeleteManyEventsResult");
  assert.equal(pendingGone.count, 2);
  assert.deepEqual(ids(await root.core().events().list({ projectID: project.id })), [canceled]);

  const rest = await root.core().events().deleteMany({ projectID: project.id, workerPhases: WorkerPhasesAll });
  assert.equal(rest.count, 1);
  assert.deepEqual(ids(await root.core().events().list({ projectID: project.id })), []);
});

// ---------------------------------------------------------------------------
// Workers

test("workers: the scheduler's start() moves PENDING to STARTING, which counts as running, getStatus() reads it, a second start() is a 409 and root may not start", plain, async () => {
  const project = await projectFor("start");
  const id = (await createEvent(project)).metadata.id;

  await assert.rejects(root.core().events().workers().start(id), { message: "The request is not authorized." });
  const before = await runningCounts();
  await scheduler.core().events().workers().start(id);
  assert.deepEqual(await runningCounts(), { ...before, workers: before.workers + 1 }, "a STARTING worker occupies capacity");

  const status = await root.core().events().workers().getStatus(id);
  assert.equal(status.phase, WorkerPhase.Starting);
  assert.equal(status.kind, undefined, "WorkerStatus travels without an envelope");
  await assert.rejects(scheduler.core().events().workers().start(id), { message: `Event "${id}" worker has already been started.` });
});

test("workers: watchStatus() streams STARTING, RUNNING and SUCCEEDED over SSE as the observer reports them and ends with the done event", plain, async () => {
  const project = await projectFor("watch");
  const id = (await createEvent(project)).metadata.id;
  await scheduler.core().events().workers().start(id);
  const workers = root.core().events().workers();

  const watch = collect(workers.watchStatus(id), "worker status watch");
  await watch.untilPhase(WorkerPhase.Starting);
  await observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Running, started: new Date() });
  await watch.untilPhase(WorkerPhase.Running);
  await observer.core().events().workers().updateStatus(id, {
    phase: WorkerPhase.Succeeded,
    started: new Date(Date.now() - 1000),
    ended: new Date(),
  });
  await watch.untilDone();

  assert.deepEqual(watch.phases(), [WorkerPhase.Starting, WorkerPhase.Running, WorkerPhase.Succeeded]);
  const last = watch.items.at(-1);
  assert.ok(isTime(last.started) && isTime(last.ended), `times on the stream: ${JSON.stringify(last)}`);
  assert.equal(last.kind, undefined, "status items travel without an envelope");

  // Watching a finished worker: its final status, then done.
  const again = collect(workers.watchStatus(id), "watch of a finished worker");
  await again.untilDone();
  assert.deepEqual(again.phases(), [WorkerPhase.Succeeded]);

  await assert.rejects(
    observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Running }),
    { message: `Event "${id}" worker has already reached a terminal phase.` },
  );
});

test("workers: the observer's timeout (via the SDK's REST machinery) moves RUNNING to TIMED_OUT once, and cleanup() makes the event's cleanup due now", plain, async () => {
  const project = await projectFor("timeout");
  const id = (await createEvent(project)).metadata.id;
  await startRunningWorker(id);

  assert.equal(await sdkRequest(observerToken, "PUT", `v2/events/${id}/worker/timeout`), null);
  const status = await root.core().events().workers().getStatus(id);
  assert.equal(status.phase, WorkerPhase.TimedOut);
  assert.ok(isTime(status.ended), "timeout stamps ended");
  await assert.rejects(sdkRequest(observerToken, "PUT", `v2/events/${id}/worker/timeout`), { message: new RegExp(id) });

  if (helperURL) {
    assert.ok(!(await cleanupsDue()).includes(id), "the timeout schedules the cleanup after the server's cleanup delay");
  }
  await observer.core().events().workers().cleanup(id);
  await assert.rejects(root.core().events().workers().cleanup(id), { message: "The request is not authorized." });
  if (helperURL) {
    assert.ok((await cleanupsDue()).includes(id), "cleanup() asks for the event's cleanup now");
  }
});

// ---------------------------------------------------------------------------
// Jobs (the worker is started through the test helper, which holds its token)

const buildJob = (name, extra = {}) => ({
  name,
  spec: {
    primaryContainer: {
      image: "debian:12-slim",
      command: ["sh", "-c"],
      arguments: ["echo building"],
      environment: { API_KEY: "s3cr3t" },
    },
    timeoutDuration: "10m",
    ...extra,
  },
});

test("jobs: the worker's create() stores a PENDING job with its environment redacted, duplicates are a 409, and updateSummary() is stored", needsHelper, async () => {
  const project = await projectFor("job-create");
  const id = (await createEvent(project)).metadata.id;
  const worker = await runningWorkerClient(id);
  const jobs = worker.core().events().workers().jobs();

  assert.equal(await jobs.create(id, buildJob("build")), null, "201 with the JSON literal null");
  const job = (await root.core().events().get(id)).worker.jobs.find((j) => j.name === "build");
  assert.equal(job.status.phase, JobPhase.Pending);
  assert.ok(isTime(job.created));
  assert.equal(job.spec.primaryContainer.image, "debian:12-slim");
  assert.deepEqual(job.spec.primaryContainer.environment, { API_KEY: "*** REDACTED ***" });
  assert.equal(job.spec.timeoutDuration, "10m");

  await assert.rejects(jobs.create(id, buildJob("build")), { message: /build/ });
  await assert.rejects(root.core().events().workers().jobs().create(id, buildJob("by-root")), {
    message: "The request is not authorized.",
  });
  const privileged = buildJob("privileged");
  privileged.spec.primaryContainer.privileged = true;
  await assert.rejects(jobs.create(id, privileged), { message: "The request is not authorized." });

  await worker.core().events().updateSummary(id, { text: "built 1 job" });
  assert.equal((await root.core().events().get(id)).summary, "built 1 job");

  // The worker's token reads (as brigadier does) but holds no project role.
  assert.equal((await worker.core().events().get(id)).metadata.id, id);
  await assert.rejects(worker.core().events().cancel(id), { message: "The request is not authorized." });
  await assert.rejects(worker.authn().whoAmI(), { message: "The request is not authorized." });
});

test("jobs: start(), getStatus(), watchStatus() over SSE to SUCCEEDED with done, cleanup(); a retry inherits the job", needsHelper, async () => {
  const project = await projectFor("job-run");
  const id = (await createEvent(project)).metadata.id;
  const worker = await runningWorkerClient(id);
  await worker.core().events().workers().jobs().create(id, buildJob("build"));

  await scheduler.core().events().workers().jobs().start(id, "build");
  const jobs = root.core().events().workers().jobs();
  const status = await jobs.getStatus(id, "build");
  assert.equal(status.phase, JobPhase.Starting);
  assert.equal(status.kind, undefined, "JobStatus travels without an envelope");
  await assert.rejects(scheduler.core().events().workers().jobs().start(id, "build"), { message: /build/ });

  const watch = collect(worker.core().events().workers().jobs().watchStatus(id, "build"), "job status watch");
  await watch.untilPhase(JobPhase.Starting);
  await observer.core().events().workers().jobs().updateStatus(id, "build", { phase: JobPhase.Running, started: new Date() });
  await watch.untilPhase(JobPhase.Running);
  await observer.core().events().workers().jobs().updateStatus(id, "build", {
    phase: JobPhase.Succeeded,
    started: new Date(Date.now() - 1000),
    ended: new Date(),
  });
  await watch.untilDone();
  assert.deepEqual(watch.phases(), [JobPhase.Starting, JobPhase.Running, JobPhase.Succeeded]);
  assert.ok(isTime(watch.items.at(-1).ended));

  await assert.rejects(
    observer.core().events().workers().jobs().updateStatus(id, "build", { phase: JobPhase.Running }),
    { message: /job "build" has already reached a terminal phase\./ },
  );
  await observer.core().events().workers().jobs().cleanup(id, "build");
  await assert.rejects(observer.core().events().workers().jobs().cleanup(id, "missing"), { message: 'Job "missing" not found.' });

  await writeLogs(id, ["built"], { job: "build", close: true });
  await observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Succeeded, ended: new Date() });
  const retry = await root.core().events().retry(id);
  const retryID = retry.metadata.id;
  const inherited = retry.worker.jobs.find((j) => j.name === "build");
  assert.equal(inherited.status.phase, JobPhase.Succeeded);
  assert.equal(inherited.status.logsEventID, id, "the retry reads the job's logs from the original event");

  // The retried worker, still STARTING, asks for the same job again: 201, the
  // result is reused, and the worker is evidently RUNNING.
  const retryWorker = await startWorkerAsRunner(retryID);
  assert.equal(await phaseOf(retryID), WorkerPhase.Starting);
  assert.equal(await retryWorker.core().events().workers().jobs().create(retryID, buildJob("build")), null);
  assert.equal((await root.core().events().workers().jobs().getStatus(retryID, "build")).phase, JobPhase.Succeeded);
  assert.equal(await phaseOf(retryID), WorkerPhase.Running);
  const logs = collect(root.core().events().logs().stream(retryID, { job: "build" }), "logs of an inherited job");
  await logs.untilDone();
  assert.deepEqual(logs.messages(), ["built"]);
});

test("jobs: a job started as the runner does gets its real environment, which the API keeps redacted; jobs start only under a RUNNING worker", needsHelper, async () => {
  const project = await projectFor("job-env");
  const id = (await createEvent(project)).metadata.id;
  const worker = await runningWorkerClient(id);
  await worker.core().events().workers().jobs().create(id, buildJob("build"));
  await worker.core().events().workers().jobs().create(id, buildJob("later"));

  assert.deepEqual(await startJobAsRunner(id, "build"), { build: { API_KEY: "s3cr3t" } });
  assert.equal((await root.core().events().workers().jobs().getStatus(id, "build")).phase, JobPhase.Starting);
  const job = (await root.core().events().get(id)).worker.jobs.find((j) => j.name === "build");
  assert.deepEqual(job.spec.primaryContainer.environment, { API_KEY: "*** REDACTED ***" });
  await assert.rejects(scheduler.core().events().workers().jobs().start(id, "build"), { message: /job "build" has already been started\./ });

  // Not while the worker is UNKNOWN; once it ends, its jobs end with it.
  await observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Unknown });
  await assert.rejects(scheduler.core().events().workers().jobs().start(id, "later"), { message: /later.*UNKNOWN/ });
  await assert.rejects(worker.core().events().workers().jobs().create(id, buildJob("more")), { message: /UNKNOWN/ });
  await observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Failed, ended: new Date() });
  const jobs = root.core().events().workers().jobs();
  assert.equal((await jobs.getStatus(id, "build")).phase, JobPhase.Aborted);
  assert.equal((await jobs.getStatus(id, "later")).phase, JobPhase.Canceled);
});

test("jobs: the observer's timeout() moves a RUNNING job to TIMED_OUT once; a missing job is a 404", needsHelper, async () => {
  const project = await projectFor("job-timeout");
  const id = (await createEvent(project)).metadata.id;
  await (await runningWorkerClient(id)).core().events().workers().jobs().create(id, buildJob("slow"));
  await scheduler.core().events().workers().jobs().start(id, "slow");
  const jobs = observer.core().events().workers().jobs();
  await jobs.updateStatus(id, "slow", { phase: JobPhase.Running, started: new Date() });

  await jobs.timeout(id, "slow");
  const status = await jobs.getStatus(id, "slow");
  assert.equal(status.phase, JobPhase.TimedOut);
  assert.ok(isTime(status.started) && isTime(status.ended));
  await assert.rejects(jobs.timeout(id, "slow"), { message: /job "slow" has already reached a terminal phase\./ });
  await assert.rejects(jobs.getStatus(id, "missing"), { message: 'Job "missing" not found.' });
});

// ---------------------------------------------------------------------------
// Logs (lines are written through the test helper, as a substrate would)

test("logs: stream() without follow sends the stored worker lines then done; with follow it also sends later lines and ends when the log closes", needsHelper, async () => {
  const project = await projectFor("logs");
  const id = (await createEvent(project)).metadata.id;
  await startRunningWorker(id);
  await writeLogs(id, ["line 1", "line 2", "line 3"]);
  const logs = root.core().events().logs();

  const once = collect(logs.stream(id), "worker logs");
  await once.untilDone();
  assert.deepEqual(once.messages(), ["line 1", "line 2", "line 3"]);
  for (const entry of once.items) {
    assert.equal(entry.kind, "LogEntry");
    assert.ok(isTime(entry.time), `each line has its time: ${JSON.stringify(entry)}`);
  }

  const live = collect(logs.stream(id, {}, { follow: true }), "followed worker logs");
  await live.untilItems(3);
  await writeLogs(id, ["line 4"]);
  await live.untilItems(4);
  await writeLogs(id, ["line 5"], { close: true });
  await live.untilDone();
  assert.deepEqual(live.messages(), ["line 1", "line 2", "line 3", "line 4", "line 5"]);
});

test("logs: a followed stream opened while the worker is STARTING or the job PENDING waits, then delivers the lines", needsHelper, async () => {
  const project = await projectFor("logs-wait");
  const id = (await createEvent(project)).metadata.id;
  await scheduler.core().events().workers().start(id);
  const logs = root.core().events().logs();

  const early = collect(logs.stream(id, {}, { follow: true }), "worker logs opened while STARTING");
  await observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Running, started: new Date() });
  await writeLogs(id, ["cloning", "running"]);
  await early.untilItems(2);
  await observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Succeeded, ended: new Date() });
  await early.untilDone();
  assert.deepEqual(early.messages(), ["cloning", "running"]);

  // brigadier asks for a job's logs right after creating it.
  const id2 = (await createEvent(project)).metadata.id;
  await (await runningWorkerClient(id2)).core().events().workers().jobs().create(id2, buildJob("fresh"));
  const jobLogs = collect(logs.stream(id2, { job: "fresh" }, { follow: true }), "job logs opened while PENDING");
  await scheduler.core().events().workers().jobs().start(id2, "fresh");
  await writeLogs(id2, ["first output"], { job: "fresh" });
  await jobLogs.untilItems(1);
  await writeLogs(id2, ["last output"], { job: "fresh", close: true });
  await jobLogs.untilDone();
  assert.deepEqual(jobLogs.messages(), ["first output", "last output"]);
});

test("logs: { job } and { container } select a job's or sidecar's lines, the worker may read them, follow ends with the job, unknown names are a 404", needsHelper, async () => {
  const project = await projectFor("job-logs");
  const id = (await createEvent(project)).metadata.id;
  const worker = await runningWorkerClient(id);
  await worker.core().events().workers().jobs().create(id, buildJob("test", {
    sidecarContainers: { db: { image: "postgres:16" } },
  }));
  await scheduler.core().events().workers().jobs().start(id, "test");
  await observer.core().events().workers().jobs().updateStatus(id, "test", { phase: JobPhase.Running, started: new Date() });
  await writeLogs(id, ["test 1", "test 2"], { job: "test" });
  await writeLogs(id, ["db ready"], { job: "test", container: "db" });
  await writeLogs(id, ["worker line"]);
  const logs = root.core().events().logs();

  const primary = collect(logs.stream(id, { job: "test" }), "job logs");
  await primary.untilDone();
  assert.deepEqual(primary.messages(), ["test 1", "test 2"]);

  const sidecar = collect(logs.stream(id, { job: "test", container: "db" }), "sidecar logs");
  await sidecar.untilDone();
  assert.deepEqual(sidecar.messages(), ["db ready"]);

  const own = collect(worker.core().events().logs().stream(id, { job: "test" }), "job logs read by the worker");
  await own.untilDone();
  assert.deepEqual(own.messages(), ["test 1", "test 2"]);

  await observer.core().events().workers().jobs().updateStatus(id, "test", { phase: JobPhase.Failed, ended: new Date() });
  const followed = collect(logs.stream(id, { job: "test" }, { follow: true }), "followed logs of a finished job");
  await followed.untilDone();
  assert.deepEqual(followed.messages(), ["test 1", "test 2"]);

  for (const selector of [{ container: "nope" }, { job: "missing" }, { job: "test", container: "nope" }]) {
    const bad = collect(logs.stream(id, selector), `logs of ${JSON.stringify(selector)}`);
    assert.equal((await bad.untilError()).message, "received 404 from the API server");
  }
});

// ---------------------------------------------------------------------------
// Substrate

test("substrate: countRunningWorkers() and countRunningJobs() count the workers and jobs STARTING, RUNNING or UNKNOWN", needsHelper, async () => {
  const project = await projectFor("substrate");
  const id = (await createEvent(project)).metadata.id;
  const before = await runningCounts();
  const worker = await startWorkerAsRunner(id);
  assert.deepEqual(await runningCounts(), { workers: before.workers + 1, jobs: before.jobs }, "a STARTING worker");
  await worker.core().events().workers().jobs().create(id, buildJob("count-me"));
  await worker.core().events().workers().jobs().create(id, buildJob("not-yet"));
  assert.deepEqual(await runningCounts(), { workers: before.workers + 1, jobs: before.jobs }, "PENDING jobs do not count");
  await scheduler.core().events().workers().jobs().start(id, "count-me");
  assert.deepEqual(await runningCounts(), { workers: before.workers + 1, jobs: before.jobs + 1 }, "a STARTING job");
  await observer.core().events().workers().jobs().updateStatus(id, "count-me", { phase: JobPhase.Unknown });
  await observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Unknown });
  assert.deepEqual(await runningCounts(), { workers: before.workers + 1, jobs: before.jobs + 1 }, "UNKNOWN still counts");
  await observer.core().events().workers().updateStatus(id, { phase: WorkerPhase.Succeeded, ended: new Date() });
  assert.deepEqual(await runningCounts(), before, "a finished worker's jobs end with it");
});

// ---------------------------------------------------------------------------
// Service accounts, users and roles

test("authz: Brigade's gateway setup: a service account with EVENT_CREATOR for its source creates events from it, gets a 403 for another source, and is refused once locked", plain, async () => {
  const project = await projectFor("gateway");
  const saID = `gw-${run}`;
  const token = await root.authn().serviceAccounts().create({ metadata: { id: saID }, description: "JS SDK gateway" });
  assert.equal(token.value.length, 256);
  const sa = await root.authn().serviceAccounts().get(saID);
  assert.equal(sa.metadata.id, saID);
  assert.equal(sa.description, "JS SDK gateway");
  assert.ok(isTime(sa.metadata.created));
  assert.equal(sa.locked, undefined);
  assert.ok((await root.authn().serviceAccounts().list()).items.some((a) => a.metadata.id === saID));

  const principal = { type: "SERVICE_ACCOUNT", id: saID };
  await root.authz().roleAssignments().grant({ role: "EVENT_CREATOR", principal, scope: project.source });
  const roles = await root.authz().roleAssignments().list({ principal });
  assert.deepEqual(
    roles.items.map((r) => [r.role, r.scope, r.principal.type, r.principal.id]),
    [["EVENT_CREATOR", project.source, "SERVICE_ACCOUNT", saID]],
  );

  const gateway = new APIClient(address, token.value);
  const me = await gateway.authn().whoAmI();
  assert.deepEqual([me.type, me.id], ["SERVICE_ACCOUNT", saID]);
  const created = await gateway.core().events().create({ source: project.source, type: "push" });
  assert.deepEqual(created.items.map((e) => e.projectID), [project.id]);
  await assert.rejects(gateway.core().events().create({ source: source("elsewhere"), type: "push" }), {
    message: "The request is not authorized.",
  });

  await root.authn().serviceAccounts().lock(saID);
  assert.ok(isTime((await root.authn().serviceAccounts().get(saID)).locked));
  await assert.rejects(gateway.core().events().create({ source: project.source, type: "push" }), {
    message: "The request is not authorized.",
  });
  const fresh = await root.authn().serviceAccounts().unlock(saID);
  await assert.rejects(gateway.authn().whoAmI(), { message: /^Could not authenticate the request: / });
  const unlocked = new APIClient(address, fresh.value);
  assert.equal((await unlocked.core().events().create({ source: project.source, type: "push" })).items.length, 1);

  await root.authz().roleAssignments().revoke({ role: "EVENT_CREATOR", principal, scope: project.source });
  await assert.rejects(unlocked.core().events().create({ source: project.source, type: "push" }), {
    message: "The request is not authorized.",
  });
  await root.authn().serviceAccounts().delete(saID);
  await assert.rejects(root.authn().serviceAccounts().get(saID), { message: `ServiceAccount "${saID}" not found.` });
});

test("authz: project roles: a user granted PROJECT_USER on a project through core().authz() may cancel its events; users are listed, and a locked user's session is refused", needsHelper, async () => {
  const project = await projectFor("project-roles");
  const userID = `ann-${run}@example.com`;
  const { token } = await helper("POST", `/test/user?id=${encodeURIComponent(userID)}`);
  const ann = new APIClient(address, token);
  const me = await ann.authn().whoAmI();
  assert.deepEqual([me.type, me.id], ["USER", userID]);
  const users = await root.authn().users().list();
  assert.ok(users.items.some((u) => u.metadata.id === userID && u.locked === null && isTime(u.metadata.created)));

  const event = await createEvent(project);
  await assert.rejects(ann.core().events().cancel(event.metadata.id), { message: "The request is not authorized." });
  const principal = { type: "USER", id: userID.toUpperCase() }; // user ids match without case
  await root.core().projects().authz().roleAssignments().grant(project.id, { role: "PROJECT_USER", principal });
  const granted = await root.core().projects().authz().roleAssignments().list(project.id);
  assert.deepEqual(
    granted.items.map((r) => [r.projectID, r.role, r.principal.type, r.principal.id]),
    [[project.id, "PROJECT_USER", "USER", userID]],
  );
  await ann.core().events().cancel(event.metadata.id);
  assert.equal(await phaseOf(event.metadata.id), WorkerPhase.Canceled);

  await root.authn().users().lock(userID);
  assert.ok(isTime((await root.authn().users().get(userID)).locked));
  await assert.rejects(ann.authn().whoAmI(), { message: /^Could not authenticate the request: Session not found/ });
  await root.authn().users().unlock(userID);
  assert.equal((await root.authn().users().get(userID)).locked, null);
  await root.authn().users().delete(userID);
  await assert.rejects(root.authn().users().get(userID), { message: `User "${userID}" not found.` });
});

// ---------------------------------------------------------------------------
// Errors

test("errors: a 404 and a 400 reach the caller as the SDK's errors, built from the server's type, id, reason and details", plain, async () => {
  const missingProject = projectID("missing");
  await assert.rejects(root.core().projects().get(missingProject), { message: `Project "${missingProject}" not found.` });
  const missingEvent = "00000000-0000-4000-8000-000000000000";
  await assert.rejects(root.core().events().get(missingEvent), { message: `Event "${missingEvent}" not found.` });

  await assert.rejects(root.core().projects().list({}, { limit: 101 }), {
    message: 'Bad request: Invalid value "101" for "limit" query parameter',
  });
  await assert.rejects(
    root.core().projects().create({ metadata: { id: "Not_An_Id" }, spec: { workerTemplate: {} } }),
    { message: /^Bad request: Request body failed JSON validation\n {2}0\. metadata\.id: \S/ },
  );
});

test("errors: 401, 403, 409 and 501 also reach the caller with the SDK's messages", plain, async () => {
  await assert.rejects(new APIClient(address, "not-a-token").core().projects().list(), {
    message: /^Could not authenticate the request: \S/,
  });
  await assert.rejects(observer.core().projects().create({ metadata: { id: projectID("nope") }, spec: { workerTemplate: {} } }), {
    message: "The request is not authorized.",
  });
  const { id } = await projectFor("duplicate");
  await assert.rejects(root.core().projects().create({ metadata: { id }, spec: { workerTemplate: {} } }), {
    message: new RegExp(id),
  });
  // The SDK reads `details` from a 501 (Brigade's server sent only `reason`,
  // so its message ended in "undefined"); this server sends both.
  await assert.rejects(anonymous.authn().sessions().createUserSession(), {
    message: /^Request not supported: Authentication using a third party identity provider is not supported by this server\./,
  });
});
