const { events, Job, Group } = require("brigadier");

// runEach stops at the first failure: later jobs never start, and the
// uncaught rejection makes the exit code 1.
events.on("exec", async () => {
  const results = await Group.runEach([new Job("one", "alpine"), new Job("two", "alpine"), new Job("three", "alpine")]);
  console.log("not reached", results.length);
});
