const { events, Job, Container } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("with-sidecar", "debian:latest", event);
  job.primaryContainer.command = ["sh", "-c", "sleep 1 && nc -z localhost 6379"];
  job.sidecarContainers = {
    redis: new Container("redis:6"),
    helper: new Container("busybox"),
  };
  for (const [name, c] of Object.entries(job.sidecarContainers)) {
    c.environment = { ROLE: name };
  }
  job.sidecarContainers.helper.command = ["sleep"];
  job.sidecarContainers.helper.arguments = ["30"];
  await job.run();
});

events.process();
