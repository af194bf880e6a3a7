const { events, Job, Group } = require("brigadier");

// runAll rejects at the first failure; the other jobs keep running (the run
// waits for them), and their results are dropped.
events.on("exec", async () => {
  const g = new Group([new Job("a", "alpine"), new Job("b", "alpine")]);
  g.add(new Job("c", "alpine"));
  console.log("group length:", g.length());
  try {
    await g.runAll();
    console.log("unexpected success");
  } catch (err) {
    console.log("runAll rejected:", err.message);
  }
});
