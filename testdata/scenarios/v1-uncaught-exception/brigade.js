const { events } = require("brigadier");

// An uncaught exception (here in a timer) ends the run at once with exit
// code 1: no "error" event, no "after".
events.on("exec", () => {
  setTimeout(() => {
    throw new Error("timer blew up");
  }, 1);
});
events.on("error", () => console.log("error handler"));
events.on("after", () => console.log("after handler"));
