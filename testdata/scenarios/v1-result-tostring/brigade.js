const { events, Job } = require("brigadier");

events.on("exec", async () => {
  const j = new Job("greet", "alpine", ["echo hello", "echo world"]);
  console.log("podName before run:", JSON.stringify(j.podName));
  const r = await j.run();
  console.log("podName after run:", j.podName);
  // The output without the log store's "<time>: " prefixes, as v1's pod log.
  console.log("toString:", JSON.stringify(r.toString()));
  console.log("template:", `${r}`.trim().split("\n").join(","));
  console.log("result:", r.constructor.name);
  const q = await new Job("quiet", "alpine").run();
  console.log("quiet:", JSON.stringify(String(q)));
  // streamLogs copies the output into the worker log.
  const s = new Job("streamed", "alpine");
  s.streamLogs = true;
  await s.run();
  console.log("logs():", JSON.stringify(await j.logs()));
  try {
    new Job("never-run", "alpine").logs();
  } catch (err) {
    console.log("logs() before run():", err.name, err.message);
  }
});
