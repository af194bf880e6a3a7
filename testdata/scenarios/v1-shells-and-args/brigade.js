const { events, Job } = require("brigadier");

events.on("exec", async () => {
  // With tasks, args are the script's arguments ($1, $2, …).
  const withArgs = new Job("with-args", "alpine", ['echo "args: $1 $2 ($#)"', 'echo "env: [$GREETING] [$EMPTY]"']);
  withArgs.args = ["one", "two"];
  withArgs.env = { GREETING: "hello", EMPTY: null };
  const r = await withArgs.run();
  console.log("with-args said:", r.toString().trim().split("\n").join(" / "));

  // bash adds pipefail: a failing stage fails the pipe, and so the job.
  const piped = new Job("piped", "bash", ["false | cat", "echo after the pipe"]);
  piped.shell = "/bin/bash";
  try {
    await piped.run();
    console.log("unexpected success");
  } catch (err) {
    console.log("piped failed:", err.message);
    console.log("piped output:", JSON.stringify(await piped.logs()));
  }
});
