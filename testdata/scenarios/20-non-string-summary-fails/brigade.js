const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  return Promise.all([new Job("one", "alpine", event).run(), new Job("two", "alpine", event).run()]);
});

events.process();
