const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  Promise.reject(new Error("boom"));
  await new Promise(resolve => setTimeout(resolve, 5));
  console.log("still running after the rejection");
  await new Job("after", "alpine", event).run();
  console.log("job after the rejection finished");
});

events.process();
