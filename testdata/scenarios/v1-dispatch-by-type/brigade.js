const { events } = require("brigadier");

// v1 dispatches on the event's type alone: a gateway's "exec" event reaches
// the "exec" handlers whatever its source.
events.on("exec", (e, p) => console.log(`exec handler: provider=${e.provider} type=${e.type}`));
events.on("push", () => console.log("push handler"));
events.on("example.org/gateway:exec", () => console.log("source-qualified handler"));
