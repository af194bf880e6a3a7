const { events, Job } = require("brigadier");

// ERROR hides the worker's own lines about jobs; console output and
// failures still show.
events.on("exec", async e => {
  console.log("event logLevel:", e.logLevel);
  await new Job("quiet", "alpine").run();
  await new Job("loud", "alpine").run();
});
