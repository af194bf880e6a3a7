const { events, Job } = require("brigadier");

// v1 silently ran such a job unprivileged and without the Docker socket
// when the project did not allow them; the API would refuse it (403).
events.on("exec", async (e, p) => {
  console.log("privileged allowed:", p.allowPrivilegedJobs, "host mounts:", p.allowHostMounts);
  const j = new Job("dind", "docker:dind", ["docker version"]);
  j.privileged = true;
  j.docker.enabled = true;
  j.volumes = [{ name: "x", hostPath: { path: "/tmp" } }];
  await j.run();
});
