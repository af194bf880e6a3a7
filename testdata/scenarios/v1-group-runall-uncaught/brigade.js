const { events, Job, Group } = require("brigadier");

// Not caught: the rejection fails the worker (exit 1) and fires "error".
events.on("exec", () => Group.runAll([new Job("ok", "alpine"), new Job("bad", "alpine")]));
events.on("error", e => console.log("error event:", e.cause.reason.message));
