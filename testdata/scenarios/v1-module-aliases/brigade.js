const a = require("brigadier");
const b = require("@azure/brigadier");
const c = require("brigade");

console.log("same module:", a === b && b === c);
console.log("exports:", Object.keys(a).sort().join(","));

// fire() dispatches an event of the script's own making.
a.events.on("exec", (e, p) => a.fire({ type: "custom", buildID: e.buildID }, p));
c.events.on("custom", (e, p) => console.log("custom event for", p.id, "build", e.buildID));
console.log("ErrorReport:", typeof new b.ErrorReport());
