const { events } = require("@brigadecore/brigadier");

events.on("example.org/gateway", "hello", async event => {
  const payload = JSON.parse(event.payload);
  console.log(`payload says ${payload.greeting} to ${payload.name}`);
  console.log(`project ${event.project.id} has secret ${event.project.secrets.dbPassword}`);
  console.log("labels:", event.labels, "qualifiers:", event.qualifiers, "git:", event.worker.git);
  console.log("namespace:", event.project.kubernetes.namespace);
});

events.process();
