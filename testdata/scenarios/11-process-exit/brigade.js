const { events } = require("@brigadecore/brigadier");

process.on("exit", code => console.log("exit listener saw", code));

events.on("brigade.sh/cli", "exec", async event => {
  console.log("leaving with 3");
  setTimeout(() => console.log("timer never fires"), 1000);
  process.exit(3);
  console.log("not reached");
});

events.process();
