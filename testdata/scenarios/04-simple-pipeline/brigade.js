const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  let fooJob = new Job("foo", "debian:latest", event);
  fooJob.primaryContainer.command = ["echo"];
  fooJob.primaryContainer.arguments = ["foo"];
  await fooJob.run();

  let barJob = new Job("bar", "debian:latest", event);
  barJob.primaryContainer.command = ["echo"];
  barJob.primaryContainer.arguments = ["bar"];
  await barJob.run();
});

events.process();
