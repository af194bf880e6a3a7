// Brigade's official JavaScript SDK driving events that really run: the
// server (started by internal/httpapi/jssdk_test.go, TestOfficialJSSDKRunsEvents)
// uses the local substrate, so scripts and jobs run as processes.
//
//   BRIGADE_SERVER, BRIGADE_ROOT_PASSWORD  as in sdk_test.mjs
//
// It creates an event, watches the worker and each job to their final phase,
// and streams the worker's and the jobs' logs, all through the SDK.

import { test } from "node:test";
import assert from "node:assert/strict";
import { APIClient, core } from "@brigadecore/brigade-sdk";
import { collect } from "./collect.mjs";

const { WorkerPhase, JobPhase } = core;
const address = process.env.BRIGADE_SERVER;
const rootPassword = process.env.BRIGADE_ROOT_PASSWORD;
const opts = { timeout: 60_000 };

async function rootClient() {
  const anonymous = new APIClient(address, "");
  const token = await anonymous.authn().sessions().createRootSession(rootPassword);
  return new APIClient(address, token.value);
}

const script = `
const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  console.log("worker says hello");
  const one = new Job("first", "debian:12-slim", event);
  one.primaryContainer.command = ["sh"];
  one.primaryContainer.arguments = ["-c", "echo first job output; sleep 0.2"];
  await one.run();
  const two = new Job("second", "debian:12-slim", event);
  two.primaryContainer.command = ["sh"];
  two.primaryContainer.arguments = ["-c", "echo second job output"];
  two.fallible = true;
  await two.run();
  return "both jobs ran";
});
events.process();
`;

test("an event created through the SDK runs: worker and job phases are watched to the end and their logs streamed", opts, async () => {
  const root = await rootClient();
  const projectID = `sdk-run-${Date.now().toString(36)}`;
  await root.core().projects().create({
    metadata: { id: projectID },
    spec: {
      eventSubscriptions: [{ source: "brigade.sh/cli", types: ["exec"] }],
      workerTemplate: { defaultConfigFiles: { "brigade.js": script } },
    },
  });
  const events = await root.core().events().create({ projectID, source: "brigade.sh/cli", type: "exec" });
  assert.equal(events.items.length, 1);
  const id = events.items[0].metadata.id;

  const workerWatch = collect(root.core().events().workers().watchStatus(id), "worker status watch");
  const workerLogs = collect(root.core().events().logs().stream(id, {}, { follow: true }), "followed worker logs");
  const jobs = root.core().events().workers().jobs();
  // Jobs exist only once the script creates them; their logs and statuses
  // wait for them (a log request waits while a job is PENDING).
  const firstLogs = await streamWhenCreated(root, id, "first");
  const secondLogs = await streamWhenCreated(root, id, "second");

  await workerWatch.untilDone();
  assert.equal(workerWatch.phases().at(-1), WorkerPhase.Succeeded);
  await workerLogs.untilDone();
  const workerText = workerLogs.messages().join("\n");
  assert.match(workerText, /brigade-worker version/);
  assert.match(workerText, /worker says hello/);
  assert.match(workerText, /Creating job first/);

  await firstLogs.untilDone();
  assert.ok(firstLogs.messages().includes("first job output"), JSON.stringify(firstLogs.messages()));
  await secondLogs.untilDone();
  assert.ok(secondLogs.messages().includes("second job output"), JSON.stringify(secondLogs.messages()));

  for (const name of ["first", "second"]) {
    const watch = collect(jobs.watchStatus(id, name), `status watch of job ${name}`);
    await watch.untilDone();
    assert.equal(watch.phases().at(-1), JobPhase.Succeeded);
  }
  const event = await root.core().events().get(id);
  assert.equal(event.summary, "both jobs ran");
  assert.deepEqual(event.worker.jobs.map((j) => j.name), ["first", "second"]);
});

async function streamWhenCreated(client, id, job) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const event = await client.core().events().get(id);
    if ((event.worker.jobs || []).some((j) => j.name === job)) {
      return collect(client.core().events().logs().stream(id, { job }, { follow: true }), `followed logs of job ${job}`);
    }
    if (Date.now() > deadline) throw new Error(`job ${job} was never created`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
