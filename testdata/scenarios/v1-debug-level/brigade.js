const { events } = require("brigadier");

events.on("exec", e => console.log("event logLevel:", e.logLevel));
