const { events } = require("@brigadecore/brigadier");
const isThirteen = require("is-thirteen-lite");
const { shout } = require("@acme/shout");

events.on("brigade.sh/cli", "exec", async event => {
  console.log("13 is thirteen:", isThirteen(13), "12 is thirteen:", isThirteen(12));
  console.log(shout("bundled"));
});

events.process();
