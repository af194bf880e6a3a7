const { events } = require("brigadier");

// The worker fired the event inside a promise chain: a handler's throw is
// an unhandled rejection (so "error" fires), and, as with any
// EventEmitter, the handlers after it do not run.
events.on("exec", () => {
  throw new Error("handler blew up");
});
events.on("exec", () => console.log("second handler"));
events.on("error", e => console.log("error event:", e.cause.reason.message));
