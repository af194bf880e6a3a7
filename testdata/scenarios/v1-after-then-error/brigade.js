const { events, Job } = require("brigadier");

// "error" may follow "after" (a failure inside an after handler), never
// the other way round.
events.on("exec", () => console.log("main handler"));
events.on("after", async () => {
  console.log("after handler runs a job");
  await new Job("notify", "alpine").run();
});
events.on("error", e => console.log(`error handler: trigger=${e.cause.trigger} reason=${e.cause.reason.message}`));
