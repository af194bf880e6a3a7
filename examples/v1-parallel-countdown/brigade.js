// The parallel countdown from Brigade v1's tutorials: a Group of 20 jobs,
// each counting down ten seconds, runs with runAll beside one job counting
// down 200 seconds. TICK (seconds per count, default 1) shortens it in tests:
// set it in the project's workerTemplate.container.environment.
const { events, Job, Group } = require("brigadier");

events.on("exec", (e, p) => {
  const tick = process.env.TICK || "1";

  const parallel = new Group();
  for (let i = 1; i <= 20; i++) {
    const job = new Job(`countdown-${i}`, "alpine:3.12");
    job.env = { TICK: tick };
    job.tasks = [`for n in $(seq 10 -1 1); do echo "countdown ${i}: $n"; sleep "$TICK"; done`];
    parallel.add(job);
  }

  const long = new Job("countdown-long", "alpine:3.12");
  long.env = { TICK: tick };
  long.tasks = ['for n in $(seq 200 -1 1); do echo "long countdown: $n"; sleep "$TICK"; done'];

  parallel.runAll().then(() => console.log("the 20 parallel countdowns are done"));
  long.run().then(() => console.log("the long countdown is done"));
});
