const { events, Job } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const job = (name) => {
    const j = new Job(name, "debian:latest", event);
    j.primaryContainer.command = ["echo", name];
    return j;
  };
  await Job.concurrent(
    Job.sequence(job("a"+"1"), job("b1")),
    Job.sequence(job("c1"), job("d1")),
  ).run();
  console.log("all groups done");
});

events.process();
