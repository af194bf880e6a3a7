const { events, Job } = require("brigadier");

async function attempt(job) {
  try {
    await job.run();
    console.log(`${job.name}: succeeded`);
  } catch (err) {
    console.log(`${job.name}: ${err.message}`);
  }
}

events.on("exec", async () => {
  const slow = new Job("slow", "alpine", ["sleep 10"]);
  slow.timeout = 1500;
  await attempt(slow);
  await attempt(new Job("refused", "alpine"));
  await attempt(new Job("aborted", "alpine"));
  await attempt(new Job("closed", "alpine"));
  await attempt(new Job("watch", "alpine"));
  // Job names repeat in an event only once: the API refuses the second.
  await attempt(new Job("slow", "alpine"));
});
