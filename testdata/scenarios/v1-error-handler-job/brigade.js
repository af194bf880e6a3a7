const { events, Job } = require("brigadier");

events.on("exec", async () => {
  await new Job("build", "alpine").run();
  console.log("not reached");
});
// Work started by an error handler runs to its end before the run ends.
events.on("error", async e => {
  console.log("notifying about", e.cause.event.type);
  await new Job("notify", "alpine").run();
  console.log("notified");
});
events.on("after", () => console.log("after handler"));
