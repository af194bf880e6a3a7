const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const job = Job.container("via-static", "alpine", event);
  console.log("is a Job:", job instanceof Job);
  await job.run();
});

events.process();
