const { events, Job } = require("brigadier");

// At WARN the worker's lines about jobs starting and ending are dropped;
// its warnings about the script, console output and failures still show.
events.on("exec", async () => {
  const j = new Job("warned", "alpine");
  j.imagePullSecrets = ["regcred"];
  await j.run();
  console.log("done");
});
