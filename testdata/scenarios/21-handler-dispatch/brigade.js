const { events } = require("@brigadecore/brigadier");

events
  .on("brigade.sh/github", "push", () => console.log("wrong source"))
  .on("brigade.sh/cli", "*", () => console.log("wildcard type (should not win over exact)"))
  .on("brigade.sh/cli", "exec", () => console.log("first exec handler (replaced)"))
  .on("brigade.sh/cli", "exec", () => console.log("second exec handler"));

const other = new (require("@brigadecore/brigadier").EventRegistry)();
other.on("brigade.sh/cli", "*", e => console.log("wildcard caught", e.type));
other.process();

events.process();
console.log("top level done");
