const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("slow", "alpine", event);
  job.primaryContainer.command = ["sleep", "2"];
  job.timeoutSeconds = 1.005;
  await job.run();
});

events.process();
