const { events, Job, SerialGroup } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const seq = new SerialGroup();
  for (const name of ["build", "test", "deploy"]) {
    seq.add(new Job(name, "alpine", event));
  }
  console.log("group length", seq.length());
  await seq.run();
  console.log("not reached");
});

events.process();
