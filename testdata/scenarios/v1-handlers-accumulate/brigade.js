const { events } = require("brigadier");

console.log("ping registered:", events.has("ping"), "push registered:", events.has("push"));
events.on("exec", (e, p) => console.log("first handler", e.type, p.id));
events.on("exec", (e, p) => console.log("second handler", e.type, p.id));
events.on("exec", function () {
  console.log("third handler got", arguments.length, "arguments");
});
console.log("exec handlers:", events.listenerCount("exec"));
console.log("top level done");
