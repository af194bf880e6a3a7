const { events, Job } = require("brigadier");

events.on("exec", async (e, p) => {
  console.log("main handler starts");
  await new Job("build", "alpine").run();
  // Work a handler leaves behind still comes before "after".
  setTimeout(() => console.log("late timer of a main handler"), 10);
  console.log("main handler done");
});
events.on("after", async (e, p) => {
  console.log(`after: type=${e.type} provider=${e.provider} trigger=${e.cause.trigger} cause=${e.cause.event.type} build=${e.buildID === e.cause.event.buildID}`);
  await new Job("cleanup", "alpine").run();
  console.log("after handler done");
});
events.on("after", () => console.log("second after handler"));
