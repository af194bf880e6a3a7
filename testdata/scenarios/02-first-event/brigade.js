const { events } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  console.log("Hello, Brigade!");
  return "All done.";
});

events.process();
