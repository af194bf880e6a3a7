const { events } = require("brigadier");

events.on("exec", async (e, p) => {
  Promise.reject(new Error("first failure"));
  Promise.reject(new Error("second failure"));
  await new Promise(resolve => setTimeout(resolve, 5));
  console.log("main handler keeps running");
});
events.on("error", (e, p) => {
  console.log(`error handler: type=${e.type} provider=${e.provider} trigger=${e.cause.trigger} reason=${e.cause.reason.message} cause=${e.cause.event.type} project=${p.id}`);
});
events.on("after", () => console.log("after handler"));
