const { events } = require("@brigadecore/brigadier");
const { uniqueNamesGenerator, adjectives, colors, animals } = require("unique-names-generator");

events.on("brigade.sh/cli", "exec", async event => {
  console.log(uniqueNamesGenerator({ dictionaries: [adjectives, colors, animals] }));
});

events.process();
