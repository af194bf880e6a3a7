const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const flaky = new Job("flaky", "alpine", event);
  flaky.fallible = true;
  flaky.primaryContainer.command = ["false"];
  await flaky.run();
  console.log("flaky finished");
  const next = new Job("next", "alpine", event);
  await next.run();
  return "done despite flaky";
});

events.process();
