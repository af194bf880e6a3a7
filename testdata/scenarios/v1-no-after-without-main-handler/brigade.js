const { events } = require("brigadier");

// The event is a "push": with no push handler, "after" does not fire.
events.on("exec", () => console.log("exec handler"));
events.on("after", () => console.log("after handler"));
