const { events } = require("brigadier");

events.on("exec", () => {
  console.log("exiting with 3");
  process.exit(3);
});
events.on("after", () => console.log("after handler"));
