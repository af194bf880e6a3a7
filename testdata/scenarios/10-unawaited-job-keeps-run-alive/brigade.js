const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", event => {
  new Job("background", "alpine", event).run().then(() => console.log("background job finished"));
  console.log("handler returned");
});

events.process();
