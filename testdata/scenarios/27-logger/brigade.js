const { events, logger, Job } = require("@brigadecore/brigadier");

logger.info("no %s substitution", "extra").debug("hidden at INFO level");
logger.warn({ structured: true });
events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("tagged", "alpine", event);
  job.name = "renamed";
  await job.run();
});
events.process();
