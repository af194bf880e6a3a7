const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const bad = new Job("Bad_Name", "alpine", event);
  bad.fallible = true;
  try {
    await bad.run();
  } catch (e) {
    console.log("caught:", e.message);
  }
  const odd = new Job("odd", "alpine", event);
  odd.primaryContainer.colour = "blue";
  try {
    await odd.run();
  } catch (e) {
    console.log("caught:", e.message);
  }
  const envs = new Job("envs", "alpine", event);
  envs.primaryContainer.environment = { PORT: 8080 };
  await envs.run().catch(e => console.log("caught:", e.message));
  const ok = new Job("ok", "alpine", event);
  await ok.run();
  await ok.run().catch(e => console.log("caught:", e.message));
});

events.process();
