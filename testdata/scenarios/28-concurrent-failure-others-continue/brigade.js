const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const slow = new Job("slow", "alpine", event);
  slow.run().then(() => console.log("slow job finished after the group failed"));
  await Job.concurrent(new Job("fails", "alpine", event), new Job("other", "alpine", event)).run();
});

events.process();
