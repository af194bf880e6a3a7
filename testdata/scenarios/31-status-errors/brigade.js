const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const lost = new Job("lost", "alpine", event);
  await lost.run().catch(e => console.log("caught:", e.message));
  const lostFallible = new Job("lost-fallible", "alpine", event);
  lostFallible.fallible = true;
  await lostFallible.run();
  const aborted = new Job("aborted", "alpine", event);
  await aborted.run().catch(e => console.log("caught:", e.message));
  const canceled = new Job("canceled", "alpine", event);
  await canceled.run().catch(e => console.log("caught:", e.message));
  const unsched = new Job("unschedulable", "alpine", event);
  await unsched.run().catch(e => console.log("caught:", e.message));
  const closed = new Job("closed", "alpine", event);
  await closed.run().catch(e => console.log("caught:", e.message));
});

events.process();
