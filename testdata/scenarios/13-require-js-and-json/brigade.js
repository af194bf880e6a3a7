const { events } = require("@brigadecore/brigadier");
const circle = require("./circle");
const config = require("./config.json");

events.on("brigade.sh/cli", "exec", async event => {
  console.log(`area of a circle of radius ${config.radius}: ${circle.area(config.radius).toFixed(2)}`);
});

events.process();
