const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("talker", "alpine", event);
  await job.run();
  const logs = await job.logs();
  const lines = logs.split("\n");
  console.log(`got ${lines.length} lines; last message: ${lines[lines.length - 1].split(": ").slice(1).join(": ")}`);
});

events.process();
