const { events, Job } = require("brigadier");

// The tasks run as one "sh -e" script: the failing task ends it (the third
// never runs) and fails the job. The fake host really runs the command.
events.on("exec", async () => {
  const j = new Job("tasks", "alpine", ["echo first task", "false", "echo third task never runs"]);
  try {
    await j.run();
    console.log("unexpected success");
  } catch (err) {
    console.log("caught:", err.message);
    console.log("job output:", JSON.stringify(await j.logs()));
  }
});
