const { events, Job } = require("brigadier");

// The worker's own lines about a v1 job say what the API reported (its
// phases), in the leveled format, and name no pods and no Kubernetes
// phases: this platform runs no pods.
events.on("exec", async () => {
  const ok = new Job("ok", "alpine");
  ok.timeout = 2000;
  await ok.run();
  await new Job("bad", "alpine").run().catch(err => console.log("caught:", err.message));
});
