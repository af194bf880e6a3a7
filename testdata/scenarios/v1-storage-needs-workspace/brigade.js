const { events, Job } = require("brigadier");

events.on("exec", async () => {
  const shared = new Job("shared", "alpine", ["ls /mnt/brigade/share"]);
  shared.storage.enabled = true;
  try {
    await shared.run();
  } catch (err) {
    console.log("rejected:", err.message);
  }
  await new Job("unshared", "alpine").run();
});
