const { events, Job } = require("brigadier");

// No git, no namespace, no job policies in the event document: v1's
// defaults for a project that does not say (privileged jobs allowed).
events.on("exec", async (e, p) => {
  console.log("revision", e.revision, "cloneURL", e.cloneURL);
  console.log("repo cloneURL", p.repo.cloneURL, "namespace", JSON.stringify(p.kubernetes.namespace));
  console.log("privileged allowed", p.allowPrivilegedJobs, "host mounts", p.allowHostMounts);
  const j = new Job("priv", "docker:dind");
  j.privileged = true;
  await j.run();
});
