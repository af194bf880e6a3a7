const { events, Job, ImagePullPolicy } = require("@brigadecore/brigadier");

events.on("brigade.sh/cli", "exec", async event => {
  const job = new Job("win", "mcr.microsoft.com/windows/nanoserver:1809", event);
  job.host = { os: "windows" };
  job.primaryContainer.imagePullPolicy = ImagePullPolicy.Always;
  job.primaryContainer.command = ["cmd.exe", "/k"];
  job.primaryContainer.workingDirectory = "C:\\work";
  job.primaryContainer.workspaceMountPath = "/share";
  job.primaryContainer.sourceMountPath = "/src";
  job.primaryContainer.privileged = true;
  await job.run();
});

events.process();
